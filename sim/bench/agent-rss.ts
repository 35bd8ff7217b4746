/**
 * The edge agent's memory: RSS when idle with 1,000 cached objects, started offline from its
 * cache (the steady state of a device), next to a bare `node` process measured the same way.
 * The API server and the hub fill the cache first, in their own processes. The goals are judged on
 * the bundled agent as install.sh installs it (npm run build:agent, npm pack, npm install) and
 * runs it (UNIT_NODE_FLAGS): offline, offline with --metrics and --local-api, and online with
 * both; the development tree (dist/edge-agent/main.js and node_modules) is measured next to it.
 * Each run has its own copy of the same cache. BENCH_AGENT_RSS_KEEP=DIR keeps the installed agent and its filled cache in a
 * new directory below DIR (for profiling it by hand: heap snapshots, --trace-gc);
 * BENCH_AGENT_CPU_PROF=DIR writes a CPU profile of each online run there (agent-online.cpuprofile, agent-online-no-opt.cpuprofile).
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildAgentBundle } from '../../scripts/agent-bundle/build.js';
import { installAgent, localPrebuilds, packAgent, UNIT_NODE_FLAGS } from '../../scripts/agent-bundle/install.js';
import { BINARIES } from '../launch/binaries.js';
import { launch, type ManagedProcess } from '../launch/managed-process.js';
import { forEachLimited, readyz, startApiServer, startHubProcess, until, type BenchCluster } from './cluster.js';
import { verdict } from './measure.js';
import type { BenchSection } from './section.js';

const NS = 'rss';
const PODS = 10;
const CONFIGMAPS_PER_POD = 99;

async function settledRss(proc: ManagedProcess, settleMs = 5_000): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  return proc.rssBytes();
}

interface OnlineRun {
  rss: number;
  fillMs: number;
  churnMs: number;
  churnCpuMs: number;
}

/** The agent's sync ops applied so far (edge_agent_ops_total, every op), from its metrics endpoint. */
async function opsApplied(metrics: string): Promise<number> {
  const url = metrics.startsWith('http') ? metrics : `http://${metrics}`;
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^edge_agent_ops_total\{[^}]*\} (\d+)/gm)) total += Number(match[1]);
  return total;
}

/**
 * A burst of updates to a running agent: every ConfigMap patched once through the API, 32 at a
 * time. Returns the agent's CPU for applying them and the time from the first write until the
 * agent has counted one op per ConfigMap (each changed once, so the hub has nothing to coalesce).
 */
async function churnAgent(proc: ManagedProcess, client: BenchCluster['client'], cms: string[], round: number): Promise<{ churnMs: number; churnCpuMs: number }> {
  const metrics = proc.logs.find((line) => line.msg === 'ready')?.metrics as string;
  const before = await opsApplied(metrics);
  const cpuBefore = proc.cpuSeconds();
  const started = performance.now();
  await forEachLimited(cms, 32, async (name) => {
    await client.mergePatch(`/api/v1/namespaces/${NS}/configmaps/${name}`, { data: { round: String(round) } });
  });
  await until(async () => (await opsApplied(metrics)) - before >= cms.length, 120_000, 'every patch applied', 50);
  const churnMs = performance.now() - started;
  // The volume rewrites run after the ops are in the cache: count CPU until the agent is idle again.
  let last = proc.cpuSeconds();
  for (const deadline = Date.now() + 120_000; ; last = proc.cpuSeconds()) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (proc.cpuSeconds() - last < 0.03) break;
    if (Date.now() > deadline) throw new Error('timed out after 120000 ms waiting for the agent to be idle after the patches');
  }
  return { churnMs, churnCpuMs: (last - cpuBefore) * 1000 };
}

export async function agentRssBench(): Promise<BenchSection> {
  const cluster = await startApiServer();
  const keep = process.env.BENCH_AGENT_RSS_KEEP;
  const dir = mkdtempSync(path.join(keep ?? tmpdir(), 'edge-bench-agent-'));
  const procs: ManagedProcess[] = [];
  try {
    const bundle = await buildAgentBundle(path.join(dir, 'dist-agent'));
    const bundled = installAgent(packAgent(bundle.dir, dir), path.join(dir, 'bundled'), { prebuilds: localPrebuilds(path.join(dir, 'prebuilds')) });
    const { client } = cluster;
    await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    // 10 Pods without a command (they wait, no processes run) mounting 99 ConfigMaps each: 1,001
    // objects with the Node.
    const cms = Array.from({ length: PODS * CONFIGMAPS_PER_POD }, (_, i) => `cm-${i}`);
    await forEachLimited(cms, 32, async (name) => {
      await client.create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data: { 'settings.json': JSON.stringify({ name, value: 'x'.repeat(300) }) } });
    });
    for (let p = 0; p < PODS; p++) {
      const mine = cms.slice(p * CONFIGMAPS_PER_POD, (p + 1) * CONFIGMAPS_PER_POD);
      await client.create(`/api/v1/namespaces/${NS}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `app-${p}`, namespace: NS },
        spec: { nodeName: 'rss-node', containers: [{ name: 'app', image: 'app:1' }], volumes: mine.map((name) => ({ name, configMap: { name } })) },
      });
    }
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, await cluster.tokens.create('rss-node'), { mode: 0o600 });
    const hub = await startHubProcess(cluster.kubeconfig);
    procs.push(hub.proc);
    await until(() => readyz(hub.metrics), 60_000, 'hub ready');
    const args = ['--node', 'rss-node', '--hub', hub.ws, '--data', path.join(dir, 'agent'), '--token-file', tokenFile, '--sandbox', 'never'];
    const first = await launch(BINARIES.edgeAgent, args, { name: 'agent (filling its cache)' });
    procs.push(first);
    const synced = await first.waitForLog((line) => line.msg === 'in sync with the hub' && Number(line.objects) >= PODS * (CONFIGMAPS_PER_POD + 1), 120_000, 'cache filled');
    const onlineRss = await settledRss(first);
    await first.stop();
    // The bundled agent online with --metrics and --local-api, filling a fresh cache from the hub
    // (the hub still up): as the unit runs it, and with --no-opt (no optimising compiler) next to it.
    const withData = (data: string): string[] => args.map((arg) => (arg === path.join(dir, 'agent') ? data : arg));
    const unit = { nodeArgs: [...UNIT_NODE_FLAGS] };
    let churnRound = 0;
    const profileDir = process.env.BENCH_AGENT_CPU_PROF;
    const onlineBundled = async (name: string, nodeArgs: string[]): Promise<OnlineRun> => {
      const started = performance.now();
      const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=agent-${name}.cpuprofile`] : [];
      const proc = await launch(bundled.entry, [...withData(path.join(dir, `agent-${name}`)), '--metrics', '127.0.0.1:0', '--local-api', '127.0.0.1:0'], { name: `bundled agent (online, metrics and local API, ${name})`, nodeArgs: [...profile, ...nodeArgs] });
      procs.push(proc);
      await proc.waitForLog((line) => line.msg === 'in sync with the hub' && Number(line.objects) >= PODS * (CONFIGMAPS_PER_POD + 1), 120_000, `${name}: cache filled`);
      const fillMs = performance.now() - started;
      const rss = await settledRss(proc);
      const churn = await churnAgent(proc, client, cms, ++churnRound);
      await proc.stop();
      return { rss, fillMs, ...churn };
    };
    const online = await onlineBundled('online', [...UNIT_NODE_FLAGS]);
    const onlineNoOpt = await onlineBundled('online-no-opt', [...UNIT_NODE_FLAGS, '--no-opt']);
    await hub.proc.stop();

    const offline = await launch(BINARIES.edgeAgent, args, { name: 'agent (offline)' });
    // As deploy/edge/install.sh's systemd unit runs it.
    const tuned = await launch(BINARIES.edgeAgent, args, { name: 'agent (offline, as the systemd unit runs it)', ...unit });
    procs.push(tuned);
    procs.push(offline);
    const objects = Number(offline.logs.find((line) => line.msg === 'ready')?.objects ?? 0);
    const [offlineRss, tunedRss] = await Promise.all([settledRss(offline), settledRss(tuned)]);
    await tuned.stop();
    await offline.stop();
    // Each on its own copy of the cache.
    const bundledArgs = (name: string): string[] => {
      cpSync(path.join(dir, 'agent'), path.join(dir, `agent-${name}`), { recursive: true });
      return withData(path.join(dir, `agent-${name}`));
    };
    const bundledTuned = await launch(bundled.entry, bundledArgs('bundled'), { name: 'bundled agent (offline, as the systemd unit runs it)', ...unit });
    procs.push(bundledTuned);
    const bundledDefault = await launch(bundled.entry, bundledArgs('bundled-default'), { name: 'bundled agent (offline)' });
    procs.push(bundledDefault);
    const bundledNoOpt = await launch(bundled.entry, bundledArgs('bundled-no-opt'), { name: 'bundled agent (offline, --no-opt)', nodeArgs: [...UNIT_NODE_FLAGS, '--no-opt'] });
    procs.push(bundledNoOpt);
    const [bundledTunedRss, bundledDefaultRss, bundledNoOptRss] = await Promise.all([settledRss(bundledTuned), settledRss(bundledDefault), settledRss(bundledNoOpt)]);
    await bundledTuned.stop();
    await bundledDefault.stop();
    await bundledNoOpt.stop();
    const withMetrics = await launch(bundled.entry, [...bundledArgs('bundled-metrics'), '--metrics', '127.0.0.1:0', '--local-api', '127.0.0.1:0'], { name: 'bundled agent (offline, metrics and local API)', ...unit });
    procs.push(withMetrics);
    const fullRss = await settledRss(withMetrics);
    await withMetrics.stop();

    const bare = await launch('-e', ['console.log(JSON.stringify({msg:"ready"})); setInterval(() => {}, 1000)'], { name: 'bare node' });
    procs.push(bare);
    const bareRss = await settledRss(bare);
    await bare.stop();

    const mb = (bytes: number): number => Number((bytes / 1048576).toFixed(1));
    const flags = UNIT_NODE_FLAGS.join(' ');
    return {
      title: 'Edge agent memory, idle with 1,000 cached objects',
      header: ['measure', 'edge-agent', 'baseline', 'baseline is', 'target', 'verdict'],
      rows: [
        [`RSS idle, started offline from its cache (${objects} objects), as installed (the bundle, ${flags}), MB`, mb(bundledTunedRss), mb(bareRss), 'bare node process (setInterval)', '<= 60', verdict(bundledTunedRss / 1048576, 60, false)],
        ['  same, node with its default heap settings, MB', mb(bundledDefaultRss), '', '', '', ''],
        ['  same, with --metrics and --local-api, MB', mb(fullRss), '', '', '<= 60', verdict(fullRss / 1048576, 60, false)],
        ['  same, --no-opt added (no optimising compiler), MB', mb(bundledNoOptRss), '', '', '', ''],
        ['RSS online with --metrics and --local-api, in sync with the hub after filling its cache from it, as installed, MB', mb(online.rss), mb(bareRss), 'bare node process (setInterval)', '<= 60', verdict(online.rss / 1048576, 60, false)],
        ['  same, --no-opt added, MB', mb(onlineNoOpt.rss), '', '', '', ''],
        ['  start to in sync with the hub (fresh cache), as installed, ms', Math.round(online.fillMs), '', '', '', ''],
        ['  same, --no-opt added, ms', Math.round(onlineNoOpt.fillMs), Math.round(online.fillMs), 'as installed', '', ''],
        [`  then ${cms.length} ConfigMap patches applied and their volumes rewritten: agent CPU, as installed, ms`, Math.round(online.churnCpuMs), '', '', '', ''],
        ['  same, --no-opt added, ms', Math.round(onlineNoOpt.churnCpuMs), Math.round(online.churnCpuMs), 'as installed', '', ''],
        ['  same, first patch written to the last one in the cache, as installed, ms', Math.round(online.churnMs), '', '', '', ''],
        ['  same, --no-opt added, ms', Math.round(onlineNoOpt.churnMs), Math.round(online.churnMs), 'as installed', '', ''],
        [`development tree (dist/edge-agent/main.js, node_modules), offline, ${flags}, MB`, mb(tunedRss), mb(bundledTunedRss), 'as installed, same', '', ''],
        ['  same, node with its default heap settings, MB', mb(offlineRss), mb(bundledDefaultRss), 'as installed, same', '', ''],
        ['  same, online after filling the cache, default heap settings, MB', mb(onlineRss), '', '', '', ''],
        [`bundled install size (edge-agent.js and lib/ ${mb(bundle.bytes)} MB, ${mb(bundle.startBytes)} MB of it read at start, + better-sqlite3), MB on disk`, mb(bundled.bytes), '', '', '', ''],
      ],
      notes: [
        `"In sync" is logged once the cache holds every object; the Pods' ConfigMap volumes are written after it. The patch burst is timed from the first write to the agent's ops counter (edge_agent_ops_total) having counted one op per patch; its CPU is the agent process's user + system time from the first write until the agent is idle again (under 30 ms in 500 ms; each patch rewrites one ConfigMap volume, and the Pod's sync checks its other 98: against the writer's memory of them, on disk once that is a minute old).`,
        `The cache was filled through a real hub (${synced.objects as number} objects: 10 Pods without a command, 990 ConfigMaps they mount, the Node); the WebSocket transport (MQTT.js loads only for mqtt:// hubs or a local bus). "As installed": the agent package (npm run build:agent, npm pack, npm install) run as deploy/edge/install.sh's systemd unit runs it.`],
    };
  } finally {
    for (const proc of procs) await proc.stop();
    await cluster.close();
    if (keep) process.stderr.write(`agent-rss: kept ${dir} (bundled/: the installed agent, agent/: its cache)\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

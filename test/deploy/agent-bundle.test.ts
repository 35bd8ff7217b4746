/**
 * The agent as users install it: `npm run build:agent` (scripts/agent-bundle/build.ts) bundles
 * it into one script, `npm pack` makes the edge-sync-agent package, and `npm install --omit=dev`
 * installs it as deploy/edge/install.sh does. Checks what it carries (never the hub's packages),
 * prints its installed size, and runs the installed script against a real hub over WebSocket
 * and over MQTT through a real mosquitto (the mqtt client is imported lazily: bundled, it must
 * still load on first use), and loads each chunk the agent imports on demand (grpc-js, prom-client)
 * from the installed package.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentBundle, FORBIDDEN_IN_AGENT, type AgentBundle } from '../../scripts/agent-bundle/build.js';
import { installAgent, localPrebuilds, packAgent, treeBytes, type InstalledAgent } from '../../scripts/agent-bundle/install.js';
import { TestCluster } from '../helpers/cluster.js';
import { metricValue } from '../helpers/hub.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { REPO } from '../helpers/process.js';
import { requireTool } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const NS = 'bundle';
const dir = makeTempDir('edge-agent-bundle-');
let bundle: AgentBundle;
let tarball: string;
let installed: InstalledAgent;
let cluster: TestCluster;
let mosquitto: Mosquitto | undefined;

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** The production dependency closure of edge-sync itself (what `npm install edge-sync` would add), from the repository's node_modules. */
function devTreeProductionBytes(): number {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const dirs = out.split('\n').filter((line) => line.includes(`${path.sep}node_modules${path.sep}`));
  // Each package directory once, without the nested node_modules that `npm ls` lists on their own.
  let total = 0;
  for (const pkg of new Set(dirs)) {
    total += treeBytes(pkg) - (statSafe(path.join(pkg, 'node_modules')) ? treeBytes(path.join(pkg, 'node_modules')) : 0);
  }
  return total;
}

function statSafe(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

beforeAll(async () => {
  bundle = await buildAgentBundle(path.join(dir.path, 'dist-agent'));
  tarball = packAgent(bundle.dir, dir.path);
  installed = installAgent(tarball, path.join(dir.path, 'install'), { prebuilds: localPrebuilds(path.join(dir.path, 'prebuilds')) });
  cluster = new TestCluster();
  await cluster.start();
  await cluster.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
}, 240_000);

afterAll(async () => {
  await cluster?.close();
  await mosquitto?.stop();
  dir.remove();
});

describe('the bundled agent (npm run build:agent)', () => {
  it('carries only the agent: its scripts and better-sqlite3, none of the hub packages; prints its size', () => {
    const devTree = devTreeProductionBytes();
    console.log(
      [
        'agent install (edge-sync-agent):',
        `  edge-agent.js and lib/ ${mib(bundle.bytes)}, ${mib(bundle.startBytes)} of it read at start (${bundle.packages.length} packages bundled), tarball ${(statSync(tarball).size / 1024).toFixed(0)} KiB`,
        `  installed node_modules: ${mib(installed.bytes)} (${installed.packages.length} packages: better-sqlite3 and its install-time helpers)`,
        `  better-sqlite3 alone: ${mib(treeBytes(path.join(installed.dir, 'node_modules/better-sqlite3')))}`,
        `  for comparison, edge-sync's own production dependencies: ${mib(devTree)}`,
      ].join('\n'),
    );
    for (const name of FORBIDDEN_IN_AGENT) {
      expect(bundle.packages).not.toContain(name);
      expect(installed.packages).not.toContain(name);
    }
    // What the agent runs is bundled, so npm installs none of it separately.
    expect(bundle.packages).toEqual(expect.arrayContaining(['commander', 'pino', 'prom-client', 'ws', 'mqtt', 'yaml', 'zod']));
    for (const name of ['commander', 'pino', 'prom-client', 'ws', 'mqtt', 'yaml', 'zod', 'fast-json-patch']) expect(installed.packages).not.toContain(name);
    expect(installed.packages).toContain('better-sqlite3');
    // zod's classic API stays out (scripts/agent-bundle/build.ts, FORBIDDEN_INPUTS): it costs the
    // agent about 5 MB of RSS at start, and the agent's schemas use zod/mini (protocol/zod.ts).
    const inputs = Object.keys((JSON.parse(readFileSync(path.join(bundle.dir, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> }).inputs);
    expect(inputs.filter((input) => input.startsWith('node_modules/zod/v4/classic/')), "zod's classic API in the agent bundle: import z from protocol/zod.ts (zod/mini), not from 'zod'").toEqual([]);
    expect(inputs.some((input) => input.startsWith('node_modules/zod/v4/mini/'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(installed.dir, 'node_modules/edge-sync-agent/package.json'), 'utf8')).dependencies).toEqual({ 'better-sqlite3': expect.any(String) });
    // The only imports left to run time: Node.js built-ins, better-sqlite3, and optional
    // packages required inside try/catch that the dev tree does not install either.
    expect(bundle.externals).toEqual(['better-sqlite3', 'bufferutil', 'supports-color', 'utf-8-validate']);
    // Small: a tenth of the development tree's dependencies (bound with room for growth).
    expect(installed.bytes).toBeLessThan(25 * 1048576);
    expect(installed.bytes * 4).toBeLessThan(devTree);
  });

  it('every chunk loaded on first use loads from the installed package with the exports its importers use', () => {
    // The start-up part is smaller than the whole: what is loaded on demand stays unread at start.
    expect(bundle.startBytes).toBeLessThan(bundle.bytes * 0.75);
    const installedDir = path.dirname(installed.entry);
    const installedChunk = (source: string): string => {
      const chunk = bundle.lazyChunks[source];
      expect(chunk, `a lazy chunk for ${source}`).toBeDefined();
      return path.join(installedDir, path.relative(bundle.dir, chunk!));
    };
    const probe = `
      const [kind, file] = process.argv.slice(1);
      const m = await import(file);
      const shape = {
        grpc: () => typeof m.grpc.Client === 'function' && typeof m.grpc.credentials.createInsecure === 'function',
        cri: () => typeof m.grpc.loadPackageDefinition === 'function' && typeof m.protoLoader.fromJSON === 'function' && typeof m.protobuf.default.parse === 'function',
        metrics: () => typeof m.PromRegistry === 'function' && typeof m.AgentMetrics === 'function',
        mqtt: () => typeof m.default.connect === 'function',
      }[kind];
      process.stdout.write(String(shape()));
    `;
    for (const [kind, source] of [
      ['grpc', 'edge-agent/runtime/probes/grpc-js.ts'],
      ['cri', 'edge-agent/runtime/cri/grpc-modules.ts'],
      ['metrics', 'edge-agent/metrics.ts'],
      ['mqtt', 'node_modules/mqtt/build/index.js'],
    ] as const) {
      expect(execFileSync(process.execPath, ['--input-type=module', '-e', probe, kind, installedChunk(source)], { encoding: 'utf8' }), kind).toBe('true');
    }
  });

  it('the installed script syncs a Pod from a real hub over WebSocket and reports its version', async () => {
    await cluster.tokenFile('edge-bundle-ws');
    await cluster.client.create(`/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: NS }, spec: { nodeName: 'edge-bundle-ws', containers: [{ name: 'app', image: 'app:1' }] } });
    const agent = await cluster.startAgent('edge-bundle-ws', { script: installed.entry });
    expect(agent.proc.logs.find((line) => line.msg === 'ready')).toMatchObject({ node: 'edge-bundle-ws' });
    const pod = await waitFor(() => agent.get<{ spec: { nodeName: string } }>(`/api/v1/namespaces/${NS}/pods/web`), { what: 'the Pod on the bundled agent' });
    expect(pod.spec.nodeName).toBe('edge-bundle-ws');
    const node = await waitFor(() => cluster.client.get<{ status?: { nodeInfo?: { kubeletVersion?: string } } }>('/api/v1/nodes/edge-bundle-ws').catch(() => undefined), { what: 'the Node the agent registered' });
    const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    expect(node.status?.nodeInfo?.kubeletVersion).toBe(`edge-sync/${version}`);
    await agent.stop();
  });

  it('over MQTT through mosquitto: the lazily imported mqtt client loads from the bundle', async () => {
    requireTool(MOSQUITTO, 'mosquitto');
    await cluster.tokenFile('edge-bundle-mqtt');
    mosquitto = await new Mosquitto(cluster.dir.path, cluster.kubeconfig).start();
    await cluster.stopHub();
    await cluster.startHub(mosquitto.hubArgs());
    await cluster.client.create(`/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'mqtt-web', namespace: NS }, spec: { nodeName: 'edge-bundle-mqtt', containers: [{ name: 'app', image: 'app:1' }] } });
    const agent = await cluster.startAgent('edge-bundle-mqtt', { script: installed.entry, hubUrl: mosquitto.url });
    await waitFor(async () => (await metricValue(agent.metrics, 'edge_agent_connected')) === 1, { what: 'the bundled agent connected over MQTT' });
    const pod = await waitFor(() => agent.get<{ spec: { nodeName: string } }>(`/api/v1/namespaces/${NS}/pods/mqtt-web`), { what: 'the Pod over MQTT' });
    expect(pod.spec.nodeName).toBe('edge-bundle-mqtt');
    await agent.stop();
  });
});

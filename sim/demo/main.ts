#!/usr/bin/env node
/**
 * `npm start`: a whole edge-sync installation on this machine. The embedded API, the hub and
 * three agents (edge-1..3) run as separate processes with their data under .demo/; node tokens
 * are created, deploy/examples/ is applied, and a live table shows what each node holds.
 *
 * SIGINT (Ctrl-C), SIGTERM, SIGHUP and a closed stdout (EPIPE: `npm start | tee log` after
 * Ctrl-C, `| head`) all stop everything: the agents, their Pods (which outlive an agent by
 * design), the hub, the API, and a hub restarted by hand from the "Try" list. A demo refuses to
 * start on a directory where another demo still runs; what a dead demo left running there is
 * stopped before the directory is wiped.
 */
import { Command, Option } from 'commander';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { TokenAdmin } from '../../cloud-hub/auth/token-admin.js';
import { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { BINARIES } from '../launch/binaries.js';
import { createManifests, readManifests } from '../launch/apply-manifests.js';
import { launch, type ManagedProcess } from '../launch/managed-process.js';
import { agentStatus, statusTable, type DemoAgent } from './fleet-status.js';
import { RECORD_FILE, liveDemo, recordOf, stopEverythingOn, writeRecord, type Cleanup, type DemoRecord } from './leftovers.js';
import { DemoOutput } from './output.js';

interface DemoOptions {
  dir: string;
  nodes: number;
  examples: string;
  keep?: boolean;
  refreshMs: number;
}

const program = new Command('edge-sync-demo')
  .description('Run the embedded API, a hub and edge agents locally, apply the examples, and show what each node holds.')
  .addOption(new Option('--dir <dir>', 'where the processes keep their data (wiped at start unless --keep)').default('.demo').env('DEMO_DIR'))
  .addOption(new Option('--nodes <n>', 'edge agents to start').default(3).argParser(Number).env('DEMO_NODES'))
  .addOption(new Option('--examples <dir>', 'YAML files to apply').default(path.join(BINARIES.dist, '..', 'deploy', 'examples')).env('DEMO_EXAMPLES'))
  .addOption(new Option('--keep', 'keep the data of an earlier run (default: start clean)').env('DEMO_KEEP'))
  .addOption(new Option('--refresh-ms <ms>', 'table refresh interval').default(1000).argParser(Number).env('DEMO_REFRESH_MS'))
  .action(async (options: DemoOptions) => demo(options));

/** A directory the demo may wipe: absent, empty, or one a demo made. */
function wipeable(dir: string): boolean {
  if (!existsSync(dir)) return true;
  return readdirSync(dir).length === 0 || existsSync(path.join(dir, RECORD_FILE)) || existsSync(path.join(dir, 'api', 'kubeconfig'));
}

function describeCleanup(cleanup: Cleanup): string {
  const parts = cleanup.processes.map((proc) => `${proc.name} (pid ${proc.pid})`);
  if (cleanup.podProcessGroups > 0) parts.push(`${cleanup.podProcessGroups} pod process group${cleanup.podProcessGroups === 1 ? '' : 's'}`);
  return parts.join(', ');
}

async function demo(options: DemoOptions): Promise<void> {
  const dir = path.resolve(options.dir);
  const shown = path.relative(process.cwd(), dir) || '.';
  const processes: ManagedProcess[] = [];
  let stopping: Promise<never> | undefined;
  const stop = (code: number, why: string): Promise<never> =>
    (stopping ??= (async () => {
      out.line(`\n${why}: stopping agents, their pods, the hub and the API ...`);
      for (const proc of [...processes].reverse()) await proc.stop('SIGTERM', 5_000);
      // Pods outlive their agent by design (a restarted agent adopts them); the demo is over.
      const rest = await stopEverythingOn(dir);
      if (rest.processes.length > 0) out.line(`also stopped ${describeCleanup({ ...rest, podProcessGroups: 0 })}`);
      out.line('all stopped.');
      process.exit(code);
    })());
  const out = new DemoOutput((reason) => void stop(0, reason));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0, signal));

  const running = liveDemo(dir);
  if (running) {
    out.error(`a demo is already running on ${shown} (pid ${running.pid}): stop it first (Ctrl-C in its terminal, or kill ${running.pid}), or start this one with --dir <another directory>`);
    process.exit(1);
  }
  if (!options.keep && !wipeable(dir)) {
    out.error(`${shown} exists and is not a demo directory (no ${RECORD_FILE}); the demo wipes its directory at start: choose another --dir`);
    process.exit(1);
  }
  const left = await stopEverythingOn(dir);
  if (left.processes.length + left.podProcessGroups > 0) out.line(`stopped what an earlier demo left running on ${shown}: ${describeCleanup(left)}`);
  if (!options.keep) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const record: DemoRecord = { demo: recordOf('demo', process.pid) ?? { name: 'demo', pid: process.pid, startTicks: '' }, processes: [] };
  writeRecord(dir, record);
  const start = async (script: string, args: string[], name: string): Promise<ManagedProcess> => {
    if (stopping) return stopping;
    const proc = await launch(script, args, { name });
    processes.push(proc);
    const recorded = recordOf(name, proc.pid);
    if (recorded) record.processes.push(recorded);
    writeRecord(dir, record);
    return proc;
  };

  try {
    const apiDir = path.join(dir, 'api');
    // kubectl logs, exec, port-forward, cp and top: the API goes to the hub's kubelet endpoint, which trusts the API's CA.
    const kubeletPort = await freePort();
    const hubDir = path.join(dir, 'hub');
    const api = await start(
      BINARIES.cloudHub,
      ['apiserver', '--data', apiDir, '--listen', '127.0.0.1:0', '--kubelet-endpoint', `127.0.0.1:${kubeletPort}`, '--kubelet-ca', path.join(hubDir, 'hub-kubelet-ca.crt')],
      'apiserver',
    );
    const kubeconfig = path.join(apiDir, 'kubeconfig');
    const hubArgs = ['--kubeconfig', kubeconfig, '--data', hubDir, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--heartbeat-interval', '5000'];
    hubArgs.push('--kubelet-listen', `127.0.0.1:${kubeletPort}`, '--kubelet-client-ca-file', path.join(apiDir, 'apiserver-ca.crt'), '--kubelet-authorization-mode', 'AlwaysAllow');
    const hub = await start(BINARIES.cloudHub, hubArgs, 'cloud-hub');
    const hubReady = hub.logs.find((line) => line.msg === 'ready')!;
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    const client = new KubeClient(config);
    const tokens = new TokenAdmin(client, 'edge-system');

    const created: string[] = [];
    for (const file of readdirSync(options.examples).filter((name) => /\.ya?ml$/.test(name)).sort()) {
      created.push(...(await createManifests(client, readManifests(path.join(options.examples, file)))));
    }

    const agents: DemoAgent[] = [];
    for (let i = 1; i <= options.nodes; i++) {
      const node = `edge-${i}`;
      const tokenFile = path.join(dir, `${node}.token`);
      writeFileSync(tokenFile, `${await tokens.create(node)}\n`, { mode: 0o600 });
      const agent = await start(
        BINARIES.edgeAgent,
        ['--node', node, '--hub', hubReady.ws as string, '--data', path.join(dir, node), '--token-file', tokenFile, '--local-api', '127.0.0.1:0', '--local-api-secrets', '--metrics', '127.0.0.1:0'],
        node,
      );
      const ready = agent.logs.find((line) => line.msg === 'ready')!;
      agents.push({ node, localApi: ready.localApi as string, metrics: ready.metrics as string, pid: agent.pid });
    }

    const kubeconfigShown = path.relative(process.cwd(), kubeconfig);
    // Agents keep the --hub URL they were started with: a restarted hub must listen on the same port.
    const restartHub = ['npx cloud-hub --kubeconfig', kubeconfigShown, '--listen', new URL(hubReady.ws as string).host, '--metrics', new URL(hubReady.metrics as string).host, '--heartbeat-interval 5000'].join(' ');
    const intro = [
      'edge-sync demo is running. Ctrl-C stops everything.',
      '',
      `  API server   ${api.logs.find((l) => l.msg === 'ready')!.api as string}  (pid ${api.pid})`,
      `  hub          ${hubReady.ws as string}  metrics ${hubReady.metrics as string}  (pid ${hub.pid})`,
      ...agents.map((a) => `  ${a.node.padEnd(12)} local API ${a.localApi}  metrics ${a.metrics}  (pid ${a.pid})`),
      `  applied      ${created.length > 0 ? created.join(', ') : '(already there)'}`,
      '',
      'Try:',
      `  kubectl --kubeconfig ${kubeconfigShown} get nodes,pods -A -o wide`,
      `  kubectl --kubeconfig ${kubeconfigShown} -n demo patch configmap greeting --type=merge -p '{"data":{"GREETING":"hi"}}'`,
      `  kubectl --server ${agents[0]?.localApi ?? ''} get pods,configmaps -A      # what edge-1 holds, even offline`,
      `  kill ${hub.pid}                                   # stop the hub: agents keep serving their caches`,
      `  ${restartHub}   # restart it on the same port: the agents keep their --hub URL`,
      '',
    ];
    const interactive = process.stdout.isTTY;
    let previous = '';
    while (!stopping) {
      const table = statusTable(await Promise.all(agents.map(agentStatus)));
      if (stopping) break;
      if (interactive) out.write(`\u001b[2J\u001b[H${intro.join('\n')}\n${table}\n`);
      else if (table !== previous) out.line(`${previous ? '' : `${intro.join('\n')}\n`}${table}\n`);
      previous = table;
      await new Promise((resolve) => setTimeout(resolve, options.refreshMs));
    }
  } catch (err) {
    if (stopping) return;
    out.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    await stop(1, 'demo failed');
  }
}

await program.parseAsync();

/** A port free on loopback now (the hub binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

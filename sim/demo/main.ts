#!/usr/bin/env node
/**
 * `npm start`: a whole edge-sync installation on this machine. The embedded API, the hub and
 * three agents (edge-1..3) run as separate processes with their data under .demo/; node tokens
 * are created, deploy/examples/ is applied, and a live table shows what each node holds.
 * Ctrl-C stops everything.
 */
import { Command, Option } from 'commander';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { TokenAdmin } from '../../cloud-hub/auth/token-admin.js';
import { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { BINARIES } from '../launch/binaries.js';
import { createManifests, readManifests } from '../launch/apply-manifests.js';
import { launch, type ManagedProcess } from '../launch/managed-process.js';
import { killPodProcesses } from '../launch/pod-processes.js';
import { agentStatus, statusTable, type DemoAgent } from './fleet-status.js';
import { readdirSync } from 'node:fs';

interface DemoOptions {
  dir: string;
  nodes: number;
  examples: string;
  keep?: boolean;
  refreshMs: number;
}

const program = new Command('edge-sync-demo')
  .description('Run the embedded API, a hub and edge agents locally, apply the examples, and show what each node holds.')
  .addOption(new Option('--dir <dir>', 'where the processes keep their data').default('.demo').env('DEMO_DIR'))
  .addOption(new Option('--nodes <n>', 'edge agents to start').default(3).argParser(Number).env('DEMO_NODES'))
  .addOption(new Option('--examples <dir>', 'YAML files to apply').default(path.join(BINARIES.dist, '..', 'deploy', 'examples')).env('DEMO_EXAMPLES'))
  .addOption(new Option('--keep', 'keep the data of an earlier run (default: start clean)').env('DEMO_KEEP'))
  .addOption(new Option('--refresh-ms <ms>', 'table refresh interval').default(1000).argParser(Number).env('DEMO_REFRESH_MS'))
  .action(async (options: DemoOptions) => demo(options));

async function demo(options: DemoOptions): Promise<void> {
  const dir = path.resolve(options.dir);
  if (!options.keep) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const processes: ManagedProcess[] = [];
  const log = (text: string): void => void process.stdout.write(`${text}\n`);
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    stopping = true;
    log('\nstopping agents, their pods, the hub and the API ...');
    for (const proc of [...processes].reverse()) await proc.stop('SIGTERM', 5_000);
    // Pods outlive their agent by design (a restarted agent adopts them); the demo is over.
    for (let i = 1; i <= options.nodes; i++) killPodProcesses(path.join(dir, `edge-${i}`));
    log('all stopped.');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    const apiDir = path.join(dir, 'api');
    const api = await launch(BINARIES.cloudHub, ['apiserver', '--data', apiDir, '--listen', '127.0.0.1:0'], { name: 'apiserver' });
    processes.push(api);
    const kubeconfig = path.join(apiDir, 'kubeconfig');
    const hub = await launch(BINARIES.cloudHub, ['--kubeconfig', kubeconfig, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--heartbeat-interval', '5000'], { name: 'cloud-hub' });
    processes.push(hub);
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
      const agent = await launch(
        BINARIES.edgeAgent,
        ['--node', node, '--hub', hubReady.ws as string, '--data', path.join(dir, node), '--token-file', tokenFile, '--local-api', '127.0.0.1:0', '--local-api-secrets', '--metrics', '127.0.0.1:0'],
        { name: node },
      );
      processes.push(agent);
      const ready = agent.logs.find((line) => line.msg === 'ready')!;
      agents.push({ node, localApi: ready.localApi as string, metrics: ready.metrics as string, pid: agent.pid });
    }

    const intro = [
      'edge-sync demo is running. Ctrl-C stops everything.',
      '',
      `  API server   ${api.logs.find((l) => l.msg === 'ready')!.api as string}  (pid ${api.pid})`,
      `  hub          ${hubReady.ws as string}  metrics ${hubReady.metrics as string}  (pid ${hub.pid})`,
      ...agents.map((a) => `  ${a.node.padEnd(12)} local API ${a.localApi}  metrics ${a.metrics}  (pid ${a.pid})`),
      `  applied      ${created.length > 0 ? created.join(', ') : '(already there)'}`,
      '',
      'Try:',
      `  kubectl --kubeconfig ${path.relative(process.cwd(), kubeconfig)} get nodes,pods -A -o wide`,
      `  kubectl --kubeconfig ${path.relative(process.cwd(), kubeconfig)} -n demo patch configmap greeting --type=merge -p '{"data":{"GREETING":"hi"}}'`,
      `  kubectl --server ${agents[0]?.localApi ?? ''} get pods,configmaps -A      # what edge-1 holds, even offline`,
      `  kill ${hub.pid}                                   # stop the hub: agents keep serving their caches`,
      '',
    ];
    const interactive = process.stdout.isTTY;
    let previous = '';
    while (!stopping) {
      const table = statusTable(await Promise.all(agents.map(agentStatus)));
      if (interactive) process.stdout.write(`\u001b[2J\u001b[H${intro.join('\n')}\n${table}\n`);
      else if (table !== previous) log(`${previous ? '' : `${intro.join('\n')}\n`}${table}\n`);
      previous = table;
      await new Promise((resolve) => setTimeout(resolve, options.refreshMs));
    }
  } catch (err) {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
  }
}

await program.parseAsync();

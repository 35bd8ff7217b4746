/**
 * A bench or simulation cluster: the embedded API as its own process, node tokens, and
 * helpers to fill it. The hub runs in yet another process so its RSS and CPU are its own.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TokenAdmin } from '../../cloud-hub/auth/token-admin.js';
import { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { BINARIES } from '../launch/binaries.js';
import { launch, type ManagedProcess } from '../launch/managed-process.js';

// The benchmarks' toolbox: these two live where the simulator uses them too.
export { median } from '../metrics/statistics.js';
export { forEachLimited } from '../workload/for-each-limited.js';

export interface BenchCluster {
  dir: string;
  api: ManagedProcess;
  kubeconfig: string;
  client: KubeClient;
  tokens: TokenAdmin;
  close(): Promise<void>;
}

export async function startApiServer(options: { historyWindow?: number } = {}): Promise<BenchCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-bench-'));
  const api = await launch(BINARIES.cloudHub, ['apiserver', '--data', dir, '--listen', '127.0.0.1:0', ...(options.historyWindow ? ['--history', String(options.historyWindow)] : [])], {
    // info: the ready line is an info line; the API logs requests only at debug.
    env: { LOG_LEVEL: 'info' },
    name: 'apiserver',
    ready: (line) => line.msg === 'ready',
  });
  const kubeconfig = path.join(dir, 'kubeconfig');
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  const client = new KubeClient(config, 128);
  return {
    dir,
    api,
    kubeconfig,
    client,
    tokens: new TokenAdmin(client, 'edge-system'),
    close: async () => {
      client.close();
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** BENCH_HUB_CPU_PROF=DIR runs the benches' hubs under node --cpu-prof (a profile per hub, written when it stops). */
function hubNodeArgs(): string[] {
  const dir = process.env.BENCH_HUB_CPU_PROF;
  if (!dir) return [];
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=hub-${Date.now()}.cpuprofile`];
}

/**
 * The hub as users run it in its image: the bundle (`npm run bench` builds it first). Started
 * from dist/ instead, it spends seconds resolving @kubernetes/client-node's module files.
 */
export function hubScript(): string {
  if (!existsSync(BINARIES.cloudHubBundle)) throw new Error(`${BINARIES.cloudHubBundle} is missing: run \`npm run build:hub\` (npm run bench does)`);
  return BINARIES.cloudHubBundle;
}

export async function startHubProcess(kubeconfig: string, extraArgs: string[] = [], nodeArgs: string[] = []): Promise<{ proc: ManagedProcess; ws: string; metrics: string }> {
  const proc = await launch(
    hubScript(),
    // Every virtual agent connects from 127.0.0.1: no per-address pending cap (see SIM_HUB_DEFAULTS).
    ['--kubeconfig', kubeconfig, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--log-level', 'info', '--max-pending-per-address', '0', ...extraArgs],
    // Bound, not ready: callers create what the hub lists and then wait for /readyz.
    { name: 'cloud-hub', ready: (line) => line.msg === 'listening', nodeArgs: [...hubNodeArgs(), ...nodeArgs] },
  );
  const bound = proc.logs.find((line) => line.msg === 'listening')!;
  return { proc, ws: bound.ws as string, metrics: bound.metrics as string };
}

/** Polls `probe` until true or the deadline; for benchmarks and the simulator, not for tests. */
export async function until(probe: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function readyz(metricsUrl: string): Promise<boolean> {
  try {
    return (await fetch(`${metricsUrl}/readyz`)).ok;
  } catch {
    return false;
  }
}

/**
 * The checks of `npm run test:arm64` (scripts/arm64/run.sh prepares the arm64 Node.js, the
 * cross-compiled better-sqlite3, and installs the agent's package (npm run build:agent) with
 * deploy/edge/install.sh as on an arm64 device, then runs this natively):
 *
 * 1. a hub (`cloud-hub --embedded`) runs natively; a Pod bound to node edge-arm64 and the
 *    ConfigMap it uses are created;
 * 2. the installed agent (the bundled edge-agent.js, with the arm64 better-sqlite3 npm installed
 *    beside it) runs as an arm64 process under qemu-aarch64-static, registers (the Node's
 *    kubernetes.io/arch label says arm64), and syncs both objects: seen through its local API,
 *    then, with the agent stopped, read from its SQLite cache with the native better-sqlite3;
 * 3. the hub stops; the agent starts again with the hub unreachable and serves both objects
 *    from its cache.
 *
 * Prints the agent's RSS (the qemu process: emulator included) and what the agent itself
 * reports (V8 heap), its cold and warm start times (spawn to the "ready" log line), the same
 * agent run natively for scale, and the total time. Exits non-zero on the first failed check.
 */
import { KubeConfig } from '@kubernetes/client-node';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TokenAdmin } from '../../cloud-hub/auth/token-admin.js';
import { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { ManagedProcess, launch } from '../../sim/launch/managed-process.js';

const NODE = 'edge-arm64';
const NS = 'arm64-demo';
const TIMEOUT_MS = 180_000;

const { values } = parseArgs({
  options: {
    qemu: { type: 'string' },
    sysroot: { type: 'string' },
    node: { type: 'string' },
    agent: { type: 'string' },
    started: { type: 'string' },
  },
});
const qemu = required('qemu');
const sysroot = required('sysroot');
const nodeArm64 = required('node');
/** The installed agent: DEVICE/opt/edge-agent/node_modules/edge-sync-agent/edge-agent.js. */
const agentScript = required('agent');
const startedAt = values.started ? Number(values.started) * 1000 : Date.now();
const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function required(name: keyof typeof values): string {
  const value = values[name];
  if (!value) throw new Error(`--${name} is required`);
  return value;
}

function say(message: string): void {
  process.stdout.write(`test:arm64: ${message}\n`);
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
  say(`ok: ${message}`);
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Memory {
  rss: number;
  hwm: number;
}

function procMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** The agent's own view of its memory: prom-client's default metrics on /metrics. */
async function agentMetrics(metricsUrl: string): Promise<{ heapUsed: number; heapTotal: number; external: number; reportedRss: number }> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const pick = (suffix: string) => {
    const line = text.split('\n').find((l) => new RegExp(`^\\w*${suffix}(\\{[^}]*\\})? `).test(l));
    return line ? Number(line.split(' ').at(-1)) : NaN;
  };
  return {
    heapUsed: pick('nodejs_heap_size_used_bytes'),
    heapTotal: pick('nodejs_heap_size_total_bytes'),
    external: pick('nodejs_external_memory_bytes'),
    reportedRss: pick('process_resident_memory_bytes'),
  };
}

const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : 'n/a');

async function startAgent(data: string, hubUrl: string, tokenFile: string): Promise<{ proc: ManagedProcess; startMs: number; ready: Record<string, unknown> }> {
  const args = [
    '-L',
    sysroot,
    nodeArm64,
    agentScript,
    '--node',
    NODE,
    '--hub',
    hubUrl,
    '--data',
    data,
    '--token-file',
    tokenFile,
    '--local-api',
    '127.0.0.1:0',
    '--metrics',
    '127.0.0.1:0',
  ];
  const spawnedAt = performance.now();
  const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } });
  const proc = new ManagedProcess(child, 'arm64 edge-agent');
  const ready = await proc.waitForLog((line) => line.msg === 'ready', TIMEOUT_MS, 'ready');
  return { proc, startMs: performance.now() - spawnedAt, ready };
}

async function get<T>(base: string, apiPath: string): Promise<T | undefined> {
  const res = await fetch(`${base}${apiPath}`);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET ${apiPath}: ${res.status}`);
  return (await res.json()) as T;
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'edge-arm64-'));
  const processes: ManagedProcess[] = [];
  try {
    // 1. The hub, natively, with the embedded API; the objects for the node.
    const hub = await launch(path.join(dist, 'cloud-hub/main.js'), ['--embedded', '--data', path.join(work, 'hub'), '--listen', '127.0.0.1:0', '--api-listen', '127.0.0.1:0', '--heartbeat-interval', '2000'], {
      name: 'cloud-hub',
      env: { LOG_LEVEL: 'info' },
    });
    processes.push(hub);
    const hubReady = hub.logs.find((line) => line.msg === 'ready')!;
    const config = new KubeConfig();
    config.loadFromFile(hubReady.kubeconfig as string);
    const client = new KubeClient(config);
    const tokenFile = path.join(work, `${NODE}.token`);
    writeFileSync(tokenFile, `${await new TokenAdmin(client, 'edge-system').create(NODE)}\n`, { mode: 0o600 });
    await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config', namespace: NS }, data: { GREETING: 'hello arm64' } });
    // No command: the process runtime keeps it waiting (NoCommand) instead of running a host binary.
    await client.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: NS },
      spec: { nodeName: NODE, containers: [{ name: 'app', image: 'app:1', envFrom: [{ configMapRef: { name: 'app-config' } }] }] },
    });
    say(`hub ready at ${hubReady.ws as string} (native ${process.arch})`);

    // 2. The agent under qemu: cold start, registration, sync.
    const data = path.join(work, 'agent');
    const cold = await startAgent(data, hubReady.ws as string, tokenFile);
    processes.push(cold.proc);
    say(`agent ready ${(cold.startMs / 1000).toFixed(2)} s after spawn (cold)`);
    const localApi = cold.ready.localApi as string;
    const nodeObject = await until(async () => {
      const node = await client.get<{ metadata: { labels?: Record<string, string> } }>(`/api/v1/nodes/${NODE}`).catch(() => undefined);
      return node?.metadata.labels?.['kubernetes.io/arch'] ? node : undefined;
    }, 'the Node registered by the agent');
    check(nodeObject.metadata.labels?.['kubernetes.io/arch'] === 'arm64', `the agent registered Node ${NODE} as kubernetes.io/arch=arm64`);
    const pod = await until(() => get<{ spec: { nodeName: string } }>(localApi, `/api/v1/namespaces/${NS}/pods/web`), 'the Pod on the agent');
    const cm = await until(() => get<{ data: Record<string, string> }>(localApi, `/api/v1/namespaces/${NS}/configmaps/app-config`), 'the ConfigMap on the agent');
    check(pod.spec.nodeName === NODE && cm.data.GREETING === 'hello arm64', 'Pod and ConfigMap synced to the arm64 agent (local API)');
    await new Promise((resolve) => setTimeout(resolve, 3000)); // settle: heartbeats, status reports
    const memory = procMemory(cold.proc.pid);
    const reported = await agentMetrics(cold.ready.metrics as string);
    await cold.proc.stop();

    const db = new Database(path.join(data, 'cache.db'), { readonly: true, fileMustExist: true });
    const keys = (db.prepare('SELECT key FROM objects ORDER BY key').all() as { key: string }[]).map((row) => row.key);
    db.close();
    check(keys.includes(`Pod/${NS}/web`) && keys.includes(`ConfigMap/${NS}/app-config`), `the agent's SQLite cache holds them (${keys.join(', ')})`);

    // 3. Offline: no hub; the agent starts from its cache and serves both objects.
    await hub.stop();
    const warm = await startAgent(data, hubReady.ws as string, tokenFile);
    processes.push(warm.proc);
    say(`agent ready ${(warm.startMs / 1000).toFixed(2)} s after spawn (warm, hub down)`);
    check(Number(warm.ready.objects) >= 3, `the agent started offline with ${String(warm.ready.objects)} cached objects`);
    await warm.proc.waitForLog((line) => line.msg === 'cannot reach the hub', TIMEOUT_MS, 'a failed connection to the stopped hub');
    const offlineApi = warm.ready.localApi as string;
    const offlinePod = await get<{ metadata: { name: string } }>(offlineApi, `/api/v1/namespaces/${NS}/pods/web`);
    const offlineCm = await get<{ data: Record<string, string> }>(offlineApi, `/api/v1/namespaces/${NS}/configmaps/app-config`);
    check(offlinePod?.metadata.name === 'web' && offlineCm?.data.GREETING === 'hello arm64', 'the agent serves the Pod and ConfigMap offline');
    const offlineMemory = procMemory(warm.proc.pid);
    await warm.proc.stop();

    // For scale: the same agent natively (x64), same cache, offline.
    const nativeSpawned = performance.now();
    const native = await launch(path.join(dist, 'edge-agent/main.js'), ['--node', NODE, '--hub', hubReady.ws as string, '--data', data, '--token-file', tokenFile, '--local-api', '127.0.0.1:0', '--metrics', '127.0.0.1:0'], {
      name: 'native edge-agent',
      env: { LOG_LEVEL: 'info' },
    });
    processes.push(native);
    const nativeStartMs = performance.now() - nativeSpawned;
    await native.waitForLog((line) => line.msg === 'cannot reach the hub', TIMEOUT_MS, 'a failed connection to the stopped hub');
    const nativeMemory = procMemory(native.pid);
    await native.stop();

    const total = (Date.now() - startedAt) / 1000;
    say('results (arm64 agent under qemu-aarch64-static on this machine):');
    say(`  cold start, spawn to ready:     ${(cold.startMs / 1000).toFixed(2)} s`);
    say(`  warm start offline:             ${(warm.startMs / 1000).toFixed(2)} s`);
    say(`  RSS of the qemu process, synced: ${mib(memory.rss)} (peak ${mib(memory.hwm)}); offline: ${mib(offlineMemory.rss)} (includes the emulator and its translated-code cache)`);
    say(`  as the agent reports it:        V8 heap ${mib(reported.heapUsed)} used of ${mib(reported.heapTotal)}, external ${mib(reported.external)}, RSS ${reported.reportedRss > 0 ? mib(reported.reportedRss) : 'not visible under qemu'}`);
    say(`  native ${process.arch} agent, for scale: start ${(nativeStartMs / 1000).toFixed(2)} s, RSS ${mib(nativeMemory.rss)} (same cache, offline)`);
    say(`  total, with preparation:        ${total.toFixed(1)} s`);
    say('PASS');
  } finally {
    for (const proc of processes) await proc.kill().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`test:arm64: FAIL: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

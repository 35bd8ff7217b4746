/**
 * Pod create -> Running for 50 Pods on one node with the CRI runtime (a private containerd,
 * native snapshotter, the busybox test image), next to `ctr run -d` of the same image and
 * command in the same containerd, and next to the process runtime. The runtimes are driven
 * directly (syncPod, then the status they report), without hub and API, so the numbers are the
 * runtime's own. Needs containerd, runc, umoci, busybox-static and gcc (npm run setup:system).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import { CriRuntime } from '../../edge-agent/runtime/cri/cri-runtime.js';
import { ProcessRuntime, type Runtime } from '../../edge-agent/runtime/index.js';
import { until } from './cluster.js';
import type { BenchSection } from './section.js';

const run = promisify(execFile);
const PODS = 50;
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function containerdConfig(dir: string, pause: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const q = (value: string): string => JSON.stringify(value);
  return [
    'version = 2',
    `root = ${q(path.join(dir, 'root'))}`,
    `state = ${q(path.join(dir, 'state'))}`,
    `[grpc]\n  address = ${q(path.join(dir, 'ctd.sock'))}`,
    `[plugins."io.containerd.internal.v1.opt"]\n  path = ${q(path.join(dir, 'opt'))}`,
    `[${cri}]\n  sandbox_image = ${q(pause)}\n  disable_tcp_service = true\n  stream_server_address = "127.0.0.1"\n  stream_server_port = "0"\n  restrict_oom_score_adj = true`,
    `[${cri}.containerd]\n  snapshotter = "native"\n  default_runtime_name = "runc"`,
    `[${cri}.containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"`,
    `[${cri}.containerd.runtimes.runc.options]\n  Root = ${q(path.join(dir, 'runc'))}\n  SystemdCgroup = false`,
    `[${cri}.cni]\n  conf_dir = ${q(path.join(dir, 'cni'))}`,
    '',
  ].join('\n');
}

function pod(i: number, prefix: string, extra: JsonObject = {}): JsonObject {
  return {
    metadata: { name: `${prefix}-${i}`, namespace: 'bench', uid: `${prefix}-uid-${i}` },
    spec: { nodeName: 'bench', terminationGracePeriodSeconds: 0, containers: [{ name: 'main', command: ['sleep', '3600'], ...extra }] },
  };
}

/** syncPod for every Pod at once; ms from each syncPod to the runtime reporting it Running. */
async function createToRunning(runtime: Runtime, pods: JsonObject[]): Promise<number[]> {
  const created = new Map<string, number>();
  const running = new Map<string, number>();
  const off = runtime.onChange((key) => {
    if (!running.has(key) && (runtime.podStatus(key) as { phase?: string } | undefined)?.phase === 'Running') running.set(key, performance.now());
  });
  for (const item of pods) {
    const key = `Pod/bench/${(item.metadata as { name: string }).name}`;
    created.set(key, performance.now());
    await runtime.syncPod(item);
  }
  await until(() => running.size === pods.length, 300_000, 'every Pod Running');
  off();
  return [...created].map(([key, at]) => running.get(key)! - at);
}

export async function criPodsBench(): Promise<BenchSection> {
  const built = await run('bash', [path.join(REPO, 'scripts/images/test-images.sh')], { maxBuffer: 1 << 20 });
  const [busybox, pause] = built.stdout.trim().split('\n').map((line) => line.split(' ') as [string, string]);
  if (!busybox || !pause) throw new Error('scripts/images/test-images.sh did not print two images');
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-bench-cri-'));
  const secrets = mkdtempSync('/dev/shm/edge-bench-cri-');
  const socket = path.join(dir, 'ctd.sock');
  mkdirSync(path.join(dir, 'cni'), { recursive: true });
  writeFileSync(path.join(dir, 'config.toml'), containerdConfig(dir, pause[0]));
  const ctr = (args: string[]) => run('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { maxBuffer: 1 << 22 });
  const containerd: ChildProcess = spawn('containerd', ['--config', path.join(dir, 'config.toml')], { stdio: 'ignore' });
  const logger = pino({ level: 'silent' });
  const runtimes: Runtime[] = [];
  try {
    await until(async () => (await ctr(['version']).then(() => true, () => false)), 30_000, 'containerd');
    for (const [, archive] of [busybox, pause]) await ctr(['images', 'import', '--snapshotter', 'native', archive]);
    const cri = new CriRuntime({ endpoint: `unix://${socket}`, dataDir: path.join(dir, 'cri'), logDir: path.join(dir, 'log'), nodeName: 'bench', lookup: { get: () => undefined }, logger, hostIP: '127.0.0.1', secretsDir: secrets, pollIntervalMs: 200 });
    runtimes.push(cri);
    await cri.start();
    const criMs = await createToRunning(cri, Array.from({ length: PODS }, (_, i) => pod(i, 'cri', { image: busybox[0], imagePullPolicy: 'IfNotPresent' })));

    const ctrMs = await Promise.all(
      Array.from({ length: PODS }, async (_, i) => {
        const started = performance.now();
        await ctr(['run', '-d', '--net-host', '--snapshotter', 'native', '--runc-root', path.join(dir, 'runc'), busybox[0], `bench-ctr-${i}`, 'sleep', '3600']);
        return performance.now() - started;
      }),
    );

    const processes = new ProcessRuntime({ dataDir: path.join(dir, 'process'), nodeName: 'bench', lookup: { get: () => undefined }, logger, hostIP: '127.0.0.1', useBwrap: 'never', secretsDir: secrets, pollIntervalMs: 200 });
    runtimes.push(processes);
    await processes.start();
    const processMs = await createToRunning(processes, Array.from({ length: PODS }, (_, i) => pod(i, 'proc', { image: 'unused' })));

    const row = (what: string, values: number[]) => [what, PODS, Math.round(percentile(values, 50)), Math.round(percentile(values, 99))];
    return {
      title: `Pod create to Running, ${PODS} Pods on one node`,
      header: ['runtime', 'pods', 'p50 ms', 'p99 ms'],
      rows: [row('CRI runtime (containerd, native snapshotter)', criMs), row('ctr run -d, same image and command, 50 at once', ctrMs), row('process runtime (no bwrap)', processMs)],
      notes: [
        'All 50 Pods are handed to the runtime at once (syncPod each) and timed until the runtime reports phase Running; ctr run -d is timed to its exit (the task started). The CRI runtime includes a sandbox (pause container) per Pod; ctr run has none.',
      ],
    };
  } finally {
    for (const runtime of runtimes) {
      for (const key of runtime.pods()) await runtime.killPod(key, 0).catch(() => undefined);
      await runtime.stop();
    }
    const tasks = await ctr(['tasks', 'ls', '-q']).then((result) => result.stdout.split('\n').filter(Boolean), () => []);
    for (const id of tasks) await ctr(['tasks', 'rm', '-f', id]).catch(() => undefined);
    containerd.kill('SIGTERM');
    await new Promise((resolve) => containerd.once('exit', resolve));
    await run('umount', ['-R', path.join(dir, 'state')]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    rmSync(secrets, { recursive: true, force: true });
  }
}

/**
 * Suite `api-latency`: the embedded API's write latency at BENCH_API_RATE (default 1,000)
 * merge patches per second with two watches on every Pod open, next to the same requests
 * against the trivial HTTPS server of the embedded-API suite (which answers with the body and
 * writes it to its watches). Goal: p50 <= 10 ms, p99 <= 50 ms. BENCH_API_CPU_PROF=DIR profiles
 * the API server (node --cpu-prof); summarise with `node dist/sim/bench/profile-summary.js`.
 */
import https from 'node:https';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLOUD_HUB, startChild, stopChild, TRIVIAL_SERVER, type Child } from './embedded-api.js';
import { TARGETS } from '../report/targets.js';
import { verdict } from './measure.js';
import type { BenchSection } from './section.js';
import { patchLatency, requester, seedPods, type LatencyResult, type Requester } from './write-latency.js';

const NAMESPACE = 'latency';

/** User + system CPU of a process so far, seconds (Linux /proc; fields 14 and 15 of stat, 100 ticks a second). */
function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const WATCHES = 2;

/** Watches every Pod over raw HTTPS and reads (and drops) what arrives, as an informer would. */
function openWatches(server: string, ca: string, token: string | undefined): { close(): void } {
  const requests: ReturnType<typeof https.request>[] = [];
  for (let i = 0; i < WATCHES; i++) {
    const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
    const req = https.request(new URL('/api/v1/pods?watch=1&allowWatchBookmarks=true', server), { ca, headers }, (res) => res.resume());
    req.on('error', () => undefined);
    req.end();
    requests.push(req);
  }
  return { close: () => requests.forEach((req) => req.destroy()) };
}

/**
 * Warm-up at the same rate, then the measured run; `cpuMsPerWrite` is the server's CPU (user +
 * system) over both, per answered write.
 */
async function measure(client: Requester, server: string, ca: string, token: string | undefined, rate: number, ms: number, pid: number | undefined, recording?: { on: boolean }): Promise<LatencyResult & { cpuMsPerWrite: number }> {
  const watches = openWatches(server, ca, token);
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cpuBefore = cpuSeconds(pid);
    const warmUp = await patchLatency(client, NAMESPACE, rate, Math.min(2_000, ms / 4));
    if (recording) recording.on = true;
    const result = await patchLatency(client, NAMESPACE, rate, ms);
    return { ...result, cpuMsPerWrite: ((cpuSeconds(pid) - cpuBefore) * 1000) / (warmUp.done + result.done) };
  } finally {
    if (recording) recording.on = false;
    watches.close();
  }
}

/** The q-quantile of ascending `sorted`. */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
}

export async function apiLatencyBench(): Promise<BenchSection> {
  const rate = Number(process.env.BENCH_API_RATE ?? 1_000);
  const ms = Number(process.env.BENCH_API_SECONDS ?? 10) * 1000;
  const prof = process.env.BENCH_API_CPU_PROF;
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-bench-latency-'));
  let embedded: Child | undefined;
  let trivial: Child | undefined;
  try {
    if (prof) mkdirSync(prof, { recursive: true });
    const nodeArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=apiserver-${Date.now()}.cpuprofile`] : [];
    // The server's own view of each PATCH (handler entered -> answer written, its debug
    // request line): the client's figure also holds the time the bench's own process, starved
    // on a loaded machine, takes to send and to read.
    const serverMs: number[] = [];
    const recording = { on: false };
    const onLog = (line: Record<string, unknown>): void => {
      if (recording.on && line.msg === 'request' && line.method === 'PATCH' && typeof line.ms === 'number') serverMs.push(line.ms);
    };
    embedded = await startChild([CLOUD_HUB, 'apiserver', '--data', dir, '--listen', '127.0.0.1:0'], { LOG_LEVEL: 'debug' }, nodeArgs, onLog);
    trivial = await startChild(['--input-type=module', '-e', TRIVIAL_SERVER], { CERT: path.join(dir, 'apiserver.crt'), KEY: path.join(dir, 'apiserver.key') });
    const ca = readFileSync(path.join(dir, 'apiserver-ca.crt'), 'utf8');
    const token = readFileSync(path.join(dir, 'apiserver.token'), 'utf8').trim();
    const api = String(embedded.ready.api);
    const trivialServer = `https://127.0.0.1:${trivial.ready.port as number}`;

    const client = requester(api, ca, token, 64);
    const status = await client.request('POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: NAMESPACE } }));
    if (status !== 201) throw new Error(`creating namespace ${NAMESPACE}: HTTP ${status}`);
    await seedPods(client, NAMESPACE);
    const edge = await measure(client, api, ca, token, rate, ms, embedded.process.pid, recording);
    serverMs.sort((a, b) => a - b);
    client.close();
    const trivialClient = requester(trivialServer, ca, undefined, 64);
    const base = await measure(trivialClient, trivialServer, ca, undefined, rate, ms, trivial.process.pid);
    trivialClient.close();

    const num = (value: number, digits = 1): number => Number(value.toFixed(digits));
    const n = rate.toLocaleString('en-US');
    return {
      title: `Embedded API write latency at ${n} merge patches/s`,
      header: ['measure', 'edge-sync', 'baseline', 'baseline is', 'target', 'verdict'],
      rows: [
        [`Pod merge patch at ${n}/s (achieved ${Math.round(edge.achievedRate)}/s), p50, ms`, num(edge.p50), num(base.p50), 'same requests to a trivial HTTPS echo server', `<= ${TARGETS.apiWriteP50Ms}`, verdict(edge.p50, TARGETS.apiWriteP50Ms, false)],
        ['  same, p99, ms', num(edge.p99), num(base.p99), '', `<= ${TARGETS.apiWriteP99Ms}`, verdict(edge.p99, TARGETS.apiWriteP99Ms, false)],
        ['  same, max, ms', num(edge.max), num(base.max), '', '', ''],
        ['  inside the API server (handler entered -> answer written), p50, ms', num(quantile(serverMs, 0.5)), '', '', `<= ${TARGETS.apiWriteP50Ms}`, verdict(quantile(serverMs, 0.5), TARGETS.apiWriteP50Ms, false)],
        ['  inside the API server, p99, ms', num(quantile(serverMs, 0.99)), '', '', `<= ${TARGETS.apiWriteP99Ms}`, verdict(quantile(serverMs, 0.99), TARGETS.apiWriteP99Ms, false)],
        ['  server CPU per write (user + system, warm-up included), ms', num(edge.cpuMsPerWrite, 2), num(base.cpuMsPerWrite, 2), 'the trivial server (HTTPS, JSON parse, writes to its watches)', '', ''],
        [`  failed writes${edge.firstFailure ? ` (first: HTTP ${edge.firstFailure})` : ''}`, edge.failed, base.failed, '', '0', edge.failed === 0 ? 'met' : `missed by ${edge.failed}`],
      ],
      notes: [
        `\`cloud-hub apiserver\` in its own process with ${WATCHES} watches on every Pod open; ${ms / 1000} s of open-loop patches (a label and the written-at annotation, every tenth the container image) over up to 64 keep-alive connections after a warm-up; the client is this process.`,
        'The client-side figures count from the request being issued to its answer read, in this process: on a loaded machine they include the time this process waits for the CPU and for a free connection (the trivial server\'s figures show how much). "Inside the API server" is the server\'s own debug request line (--log-level debug, which it runs at here): from its handler taking the request to the answer written, including the wait for the group commit.',
      ],
    };
  } finally {
    if (trivial) await stopChild(trivial);
    if (embedded) await stopChild(embedded);
    rmSync(dir, { recursive: true, force: true });
  }
}

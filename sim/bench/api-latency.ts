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

async function measure(client: Requester, server: string, ca: string, token: string | undefined, rate: number, ms: number): Promise<LatencyResult> {
  const watches = openWatches(server, ca, token);
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Warm-up at the same rate, then the measured run.
    await patchLatency(client, NAMESPACE, rate, Math.min(2_000, ms / 4));
    return await patchLatency(client, NAMESPACE, rate, ms);
  } finally {
    watches.close();
  }
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
    embedded = await startChild([CLOUD_HUB, 'apiserver', '--data', dir, '--listen', '127.0.0.1:0'], {}, nodeArgs);
    trivial = await startChild(['--input-type=module', '-e', TRIVIAL_SERVER], { CERT: path.join(dir, 'apiserver.crt'), KEY: path.join(dir, 'apiserver.key') });
    const ca = readFileSync(path.join(dir, 'apiserver-ca.crt'), 'utf8');
    const token = readFileSync(path.join(dir, 'apiserver.token'), 'utf8').trim();
    const api = String(embedded.ready.api);
    const trivialServer = `https://127.0.0.1:${trivial.ready.port as number}`;

    const client = requester(api, ca, token, 64);
    const status = await client.request('POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: NAMESPACE } }));
    if (status !== 201) throw new Error(`creating namespace ${NAMESPACE}: HTTP ${status}`);
    await seedPods(client, NAMESPACE);
    const cpuBefore = cpuSeconds(embedded.process.pid);
    const edge = await measure(client, api, ca, token, rate, ms);
    // The warm-up's writes count too: measure() patches for ms/4 (at most 2 s) first.
    const cpuMsPerWrite = ((cpuSeconds(embedded.process.pid) - cpuBefore) * 1000) / ((rate * Math.min(2_000, ms / 4)) / 1000 + edge.done);
    client.close();
    const trivialClient = requester(trivialServer, ca, undefined, 64);
    const base = await measure(trivialClient, trivialServer, ca, undefined, rate, ms);
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
        ['  API server CPU per write (user + system), ms', num(cpuMsPerWrite, 2), '', '', '', ''],
        [`  failed writes${edge.firstFailure ? ` (first: HTTP ${edge.firstFailure})` : ''}`, edge.failed, base.failed, '', '0', edge.failed === 0 ? 'met' : `missed by ${edge.failed}`],
      ],
      notes: [
        `\`cloud-hub apiserver\` in its own process with ${WATCHES} watches on every Pod open; ${ms / 1000} s of open-loop patches (a label and the written-at annotation, every tenth the container image) over up to 64 keep-alive connections after a warm-up; the client is this process.`,
      ],
    };
  } finally {
    if (trivial) await stopChild(trivial);
    if (embedded) await stopChild(embedded);
    rmSync(dir, { recursive: true, force: true });
  }
}

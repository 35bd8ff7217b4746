/**
 * The streams benchmark: `kubectl logs -f` bytes through the hub (its kubelet endpoint, a
 * stream tunnel, the agent's side of it) against the same log server read directly, and what a
 * 10 MB/s log stream costs the fleet's sync: p99 of API write -> node applied, for
 * BENCH_STREAM_NODES nodes (default 40, the agent's own link code in this process), without
 * and with one node streaming logs at 10 MB/s. The log server behind each tunnel is a stand-in
 * for the agent's kubelet API that writes as fast as the reader takes (or at a set rate).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import { ensureClientCertificate } from '../../cloud-hub/tls/pki.js';
import { HubLink } from '../../edge-agent/link/hub-link.js';
import { TunnelDialer } from '../../edge-agent/link/tunnel-dialer.js';
import { WsTransport } from '../../edge-agent/link/ws-transport.js';
import { readProcStatFields } from '../../edge-agent/runtime/proc-stat.js';
import { openEdgeStore } from '../../edge-agent/store/index.js';
import { isJsonObject } from '../../protocol/index.js';
import { median } from '../metrics/statistics.js';
import { readyz, startApiServer, startHubProcess, until } from './cluster.js';
import type { BenchSection } from './section.js';

const CHUNK = Buffer.alloc(64 * 1024, 'x\n');

/** Serves endless logs: as fast as the reader takes them, or `rate` bytes a second. */
function logServer(rate: () => number): http.Server {
  return http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let stopped = false;
    res.on('close', () => (stopped = true));
    const limit = rate();
    if (limit === 0) {
      const pump = (): void => {
        while (!stopped && res.write(CHUNK));
        if (!stopped) res.once('drain', pump);
      };
      pump();
      return;
    }
    // Paced by elapsed time, not by timer ticks: a tick that fires late writes what is owed, so
    // the stream keeps its rate on a loaded machine (as a log file keeps growing whatever the reader does).
    const started = Date.now();
    let sent = 0;
    const timer = setInterval(() => {
      if (stopped) return clearInterval(timer);
      // Like a log follower reading a file: nothing more while the tunnel is behind (what is owed waits).
      if (res.writableNeedDrain) return;
      for (let owed = Math.round(((Date.now() - started) / 1000) * limit) - sent; owed > 0; owed -= CHUNK.length) {
        const piece = CHUNK.subarray(0, Math.min(owed, CHUNK.length));
        res.write(piece);
        sent += piece.length;
      }
    }, 10);
    timer.unref(); // a follower whose tunnel never reports 'close' must not keep the bench alive
  });
}

/** Reads `url` with curl (its own process, so the reader costs this process nothing) for `ms`; bytes per second. */
function curlFollow(url: string, ms: number, args: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-s', '-o', '/dev/null', '--max-time', String(ms / 1000), '-w', '%{size_download} %{time_total}', ...args, url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const [bytes, seconds] = out.trim().split(' ').map(Number);
      resolve((bytes ?? 0) / (seconds || ms / 1000));
    });
  });
}

/** The hub's event-loop delay since the last scrape (prom-client resets its histogram on each), ms; its full GCs so far. */
async function hubLoop(metricsUrl: string): Promise<{ p99: number; max: number; majorGcs: number }> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const read = (pattern: string): number => Number(new RegExp(`^${pattern} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { p99: read('edge_hub_nodejs_eventloop_lag_p99_seconds') * 1000, max: read('edge_hub_nodejs_eventloop_lag_max_seconds') * 1000, majorGcs: read('edge_hub_nodejs_gc_duration_seconds_count\\{kind="major"\\}') || 0 };
}

/** CPU seconds (user + system) a process has used so far; 100 clock ticks a second (Linux's USER_HZ). */
function cpuSeconds(pid: number | undefined): number {
  const fields = pid === undefined ? undefined : readProcStatFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / 100 : NaN;
}

interface PhaseStats {
  latencies: number[];
  hubLoopP99: number[];
  hubLoopMax: number;
  benchLoopP99: number[];
  benchLoopMax: number;
  hubMajorGcs: number;
  benchMajorGcs: number;
  /** Per round: CPU cores used by hub, API server, bench process. */
  cpu: number[][];
}

function newPhaseStats(): PhaseStats {
  return { latencies: [], hubLoopP99: [], hubLoopMax: 0, benchLoopP99: [], benchLoopMax: 0, hubMajorGcs: 0, benchMajorGcs: 0, cpu: [] };
}

/** Counts this process's full (mark-compact) garbage collections. */
function majorGcCounter(): { readonly count: number; stop(): void } {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) count += 1;
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    get count() {
      return count;
    },
    stop: () => observer.disconnect(),
  };
}

function p(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export async function streamsBench(): Promise<BenchSection> {
  const nodes = Number(process.env.BENCH_STREAM_NODES ?? 40);
  const api = await startApiServer();
  const hubDir = mkdtempSync(path.join(tmpdir(), 'edge-bench-streams-'));
  const links: { link: HubLink; dialer: TunnelDialer; close(): void }[] = [];
  let rate = 0;
  let hubProc: { stop(): Promise<unknown> } | undefined;
  try {
    const names = Array.from({ length: nodes }, (_, i) => `bench-${i}`);
    const tokens = await api.tokens.createMany(names);
    await api.client.create('/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'log', namespace: 'default' }, spec: { nodeName: names[0], containers: [{ name: 'c', image: 'x' }] } });
    const tls = process.env.BENCH_STREAM_TLS !== '0';
    const hub = await startHubProcess(api.kubeconfig, [...(tls ? ['--tls'] : []), '--data', hubDir, '--kubelet-listen', '127.0.0.1:0', '--kubelet-client-ca-file', path.join(api.dir, 'apiserver-ca.crt'), '--kubelet-authorization-mode', 'AlwaysAllow']);
    hubProc = hub.proc;
    const listening = hub.proc.logs.find((line) => line.msg === 'listening')!;
    const kubelet = new URL(listening.kubelet as string);
    const ca = tls ? readFileSync(listening.hubCa as string) : undefined;
    await until(() => readyz(hub.metrics), 60_000, 'hub ready');
    const client = await ensureClientCertificate(api.dir, 'bench-kubelet-client', 'bench', ['system:masters']);
    const logs = logServer(() => rate);
    const latencies: number[] = [];
    const logger = pino({ level: 'silent' });
    for (const node of names) {
      const dir = mkdtempSync(path.join(tmpdir(), 'edge-bench-node-'));
      const store = openEdgeStore({ dir, logger });
      const dialer = new TunnelDialer({ streamUrl: hub.ws, node, token: tokens.get(node)!, handler: { handleConnection: (socket: Duplex) => logs.emit('connection', socket) }, logger, maxOpen: 64, ratePerSecond: 1000, ...(ca ? { ca } : {}) });
      const link = new HubLink({
        node,
        agentVersion: 'bench',
        nodeInfo: () => ({ arch: 'amd64', os: 'linux', capacity: { cpu: '1' }, labels: {} }),
        cache: store.cache,
        transport: new WsTransport({ hubUrl: hub.ws, node, token: tokens.get(node)!, ...(ca ? { ca } : {}) }),
        logger,
        tunnels: dialer,
        observer: {
          applied: (_result, _ms, ops) => {
            for (const op of ops) {
              const body = op.op === 'put' ? op.obj : op.op === 'patch' ? op.patch : undefined;
              const meta = body && isJsonObject(body.metadata) ? body.metadata : undefined;
              const stamp = meta && isJsonObject(meta.annotations) ? meta.annotations['bench/t'] : undefined;
              if (typeof stamp === 'string') latencies.push(Date.now() - Number(stamp));
            }
          },
        },
      });
      link.start();
      links.push({ link, dialer, close: () => (link.stop(), dialer.stop(), store.close(), rmSync(dir, { recursive: true, force: true })) });
    }
    await until(() => links.every((l) => l.link.status === 'synced'), 120_000, 'every node in sync');
    // Throughput: the same log server, directly and through the hub.
    const direct = logs.listen(0, '127.0.0.1');
    await new Promise((resolve) => direct.once('listening', resolve));
    writeFileSync(path.join(hubDir, 'client.crt'), client.certPem);
    writeFileSync(path.join(hubDir, 'client.key'), client.keyPem);
    const curlHub = ['--cacert', path.join(hubDir, 'hub-kubelet-ca.crt'), '--cert', path.join(hubDir, 'client.crt'), '--key', path.join(hubDir, 'client.key'), '-H', `x-edge-sync-node: ${names[0]}`];
    const hubUrl = `https://${kubelet.host}/containerLogs/default/log/c?follow=true`;
    const directRate = await curlFollow(`http://127.0.0.1:${(direct.address() as AddressInfo).port}/`, 4_000);
    const hubRate = await curlFollow(hubUrl, 4_000, curlHub);

    // Sync latency: a Node annotation per node in turn, `writes` a second, without and with a 10 MB/s
    // stream, in alternating rounds so that other load on the machine falls on both alike.
    const writesPerSecond = Number(process.env.BENCH_STREAM_WRITES ?? 100);
    const rounds = Number(process.env.BENCH_STREAM_ROUNDS ?? 4);
    const roundSeconds = 5;
    const benchLoop = monitorEventLoopDelay({ resolution: 10 });
    const benchGc = majorGcCounter();
    const stats = { warmup: newPhaseStats(), quiet: newPhaseStats(), loud: newPhaseStats() };
    const cpu = (): number[] => [cpuSeconds(hub.proc.child.pid), cpuSeconds(api.api.child.pid), cpuSeconds(process.pid)];
    const phase = async (name: keyof typeof stats): Promise<void> => {
      const into = stats[name];
      latencies.length = 0;
      const hubBefore = await hubLoop(hub.metrics);
      benchLoop.reset();
      benchLoop.enable();
      const gcBefore = benchGc.count;
      const cpuBefore = cpu();
      const started = Date.now();
      const mark = process.hrtime.bigint() / 1000n;
      const end = Date.now() + roundSeconds * 1000;
      let i = 0;
      while (Date.now() < end) {
        const node = names[i++ % names.length]!;
        void api.client.mergePatch(`/api/v1/nodes/${node}`, { metadata: { annotations: { 'bench/t': String(Date.now()) } } }).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 1000 / writesPerSecond));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const hubAfter = await hubLoop(hub.metrics);
      benchLoop.disable();
      const seconds = (Date.now() - started) / 1000;
      const used = cpu().map((after, k) => (after - cpuBefore[k]!) / seconds);
      into.latencies.push(...latencies);
      into.hubLoopP99.push(hubAfter.p99);
      into.hubLoopMax = Math.max(into.hubLoopMax, hubAfter.max);
      into.benchLoopP99.push(benchLoop.percentile(99) / 1e6);
      into.benchLoopMax = Math.max(into.benchLoopMax, benchLoop.max / 1e6);
      into.hubMajorGcs += hubAfter.majorGcs - hubBefore.majorGcs;
      into.benchMajorGcs += benchGc.count - gcBefore;
      into.cpu.push(used);
      // With BENCH_HUB_CPU_PROF: the phase's span on the CPU profiles' clock (µs, monotonic), to cut them by.
      if (process.env.BENCH_HUB_CPU_PROF) process.stderr.write(`streams phase ${name}: ${mark} ${process.hrtime.bigint() / 1000n}\n`);
    };
    rate = 10 * 1024 * 1024;
    const streamed: number[] = [];
    const loudPhase = async (): Promise<void> => {
      const streaming = curlFollow(hubUrl, (roundSeconds + 0.5) * 1000, curlHub);
      await phase('loud');
      streamed.push(await streaming);
    };
    // A discarded warm-up (the throughput runs just ended), then rounds in alternating order.
    await phase('warmup');
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        await phase('quiet');
        await loudPhase();
      } else {
        await loudPhase();
        await phase('quiet');
      }
    }
    benchGc.stop();
    direct.close();
    const quiet = stats.quiet.latencies;
    const loud = stats.loud.latencies;
    const mb = (bytes: number): number => Number((bytes / 1048576).toFixed(1));
    const ms = (value: number): number => Number(value.toFixed(1));
    const cost = (p(loud, 0.99) / p(quiet, 0.99) - 1) * 100;
    const both = (f: (s: PhaseStats) => string | number): [string | number, string | number] => [f(stats.loud), f(stats.quiet)];
    return {
      title: `Streams: kubectl logs -f through the hub, and what a 10 MB/s log stream costs sync (${nodes} nodes)`,
      header: ['measure', 'through the hub', 'baseline', 'baseline is', 'target', 'verdict'],
      rows: [
        ['logs -f throughput, MB/s', mb(hubRate), mb(directRate), 'the same log server read directly over loopback', '', ''],
        [`sync p99 write -> node applied at ${writesPerSecond}/s, ms`, ms(p(loud, 0.99)), ms(p(quiet, 0.99)), 'the same, no log stream running', '< +10 %', `${cost >= 0 ? '+' : ''}${cost.toFixed(0)} %`],
        ['  p50, ms', ms(median(loud)), ms(median(quiet)), '', '', ''],
        ['  samples', loud.length, quiet.length, '', '', ''],
        ['hub event-loop delay, worst round p99 / max, ms', ...both((s) => `${ms(Math.max(...s.hubLoopP99))} / ${ms(s.hubLoopMax)}`), 'the same, no log stream running', '', ''],
        ['bench process (nodes, log server) event-loop delay, worst round p99 / max, ms', ...both((s) => `${ms(Math.max(...s.benchLoopP99))} / ${ms(s.benchLoopMax)}`), 'the same, no log stream running', '', ''],
        ['full (mark-compact) GCs: hub / bench process', ...both((s) => `${s.hubMajorGcs} / ${s.benchMajorGcs}`), 'the same, no log stream running', '', ''],
        ['CPU, % of a core: hub / API server / bench process', ...both((s) => [0, 1, 2].map((k) => (median(s.cpu.map((c) => c[k]!)) * 100).toFixed(0)).join(' / ')), 'the same, no log stream running', '', ''],
        ['log stream achieved, MB/s (slowest round)', mb(Math.min(...streamed)), '', '', '10', ''],
      ],
      notes: [
        `After a discarded ${roundSeconds} s warm-up, ${rounds} rounds of ${roundSeconds} s without the stream and ${roundSeconds} s with it (in turn first), so that other load on the machine falls on both columns alike; latencies pooled over the rounds. Tunnels and sync over ${tls ? 'wss:// (the hub with --tls, as deployed)' : 'ws:// (BENCH_STREAM_TLS=0)'}.`,
        'Hub, API server, the bench process (all nodes and the log server behind their tunnels) and curl (the log reader) share one 2-core machine with other work; the log stream runs from bench-0, one of the nodes whose sync is measured, and its agent-side cost (tunnel, log server) lands on the one event loop all 40 nodes share, where a real fleet would pay it on one device only: an upper bound on the cost to sync.',
        'Loop delay is from a 10 ms timer (so 10 ms is no delay); the hub\'s from its prom-client metrics, reset per scrape. Full GCs counted per phase, summed over the rounds; CPU is the median round.',
        'The log server stands in for the agent\'s kubelet API (it writes 64 KiB chunks, as fast as the reader takes them or at 10 MB/s); the tunnel, the hub and the agent\'s dialer are the real ones.',
      ],
    };
  } finally {
    for (const l of links) l.close();
    await hubProc?.stop();
    await api.close();
    rmSync(hubDir, { recursive: true, force: true });
  }
}

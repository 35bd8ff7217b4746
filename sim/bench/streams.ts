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
import { rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import { ensureClientCertificate } from '../../cloud-hub/tls/pki.js';
import { HubLink } from '../../edge-agent/link/hub-link.js';
import { TunnelDialer } from '../../edge-agent/link/tunnel-dialer.js';
import { WsTransport } from '../../edge-agent/link/ws-transport.js';
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
    const perTick = Math.round(limit / 100);
    const timer = setInterval(() => {
      if (stopped) return clearInterval(timer);
      res.write(CHUNK.subarray(0, Math.min(perTick, CHUNK.length)));
      if (perTick > CHUNK.length) for (let left = perTick - CHUNK.length; left > 0; left -= CHUNK.length) res.write(CHUNK.subarray(0, Math.min(left, CHUNK.length)));
    }, 10);
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
    const hub = await startHubProcess(api.kubeconfig, ['--data', hubDir, '--kubelet-listen', '127.0.0.1:0', '--kubelet-client-ca-file', path.join(api.dir, 'apiserver-ca.crt'), '--kubelet-authorization-mode', 'AlwaysAllow']);
    hubProc = hub.proc;
    const kubelet = new URL(hub.proc.logs.find((line) => line.msg === 'listening')!.kubelet as string);
    await until(() => readyz(hub.metrics), 60_000, 'hub ready');
    const client = await ensureClientCertificate(api.dir, 'bench-kubelet-client', 'bench', ['system:masters']);
    const logs = logServer(() => rate);
    const latencies: number[] = [];
    const logger = pino({ level: 'silent' });
    for (const node of names) {
      const dir = mkdtempSync(path.join(tmpdir(), 'edge-bench-node-'));
      const store = openEdgeStore({ dir, logger });
      const dialer = new TunnelDialer({ streamUrl: hub.ws, node, token: tokens.get(node)!, handler: { handleConnection: (socket: Duplex) => logs.emit('connection', socket) }, logger, maxOpen: 64, ratePerSecond: 1000 });
      const link = new HubLink({
        node,
        agentVersion: 'bench',
        nodeInfo: () => ({ arch: 'amd64', os: 'linux', capacity: { cpu: '1' }, labels: {} }),
        cache: store.cache,
        transport: new WsTransport({ hubUrl: hub.ws, node, token: tokens.get(node)! }),
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

    // Sync latency: a Node annotation per node in turn, `writes` a second, without and with a 10 MB/s stream.
    const writesPerSecond = Number(process.env.BENCH_STREAM_WRITES ?? 100);
    const phase = async (seconds: number): Promise<number[]> => {
      latencies.length = 0;
      const end = Date.now() + seconds * 1000;
      let i = 0;
      while (Date.now() < end) {
        const node = names[i++ % names.length]!;
        void api.client.mergePatch(`/api/v1/nodes/${node}`, { metadata: { annotations: { 'bench/t': String(Date.now()) } } }).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 1000 / writesPerSecond));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return [...latencies];
    };
    const quiet = await phase(8);
    rate = 10 * 1024 * 1024;
    let streamed = 0;
    const streaming = curlFollow(hubUrl, 9_500, curlHub).then((r) => (streamed = r));
    const loud = await phase(8);
    await streaming;
    direct.close();
    const mb = (bytes: number): number => Number((bytes / 1048576).toFixed(1));
    const ms = (value: number): number => Number(value.toFixed(1));
    const cost = (p(loud, 0.99) / p(quiet, 0.99) - 1) * 100;
    return {
      title: `Streams: kubectl logs -f through the hub, and what a 10 MB/s log stream costs sync (${nodes} nodes)`,
      header: ['measure', 'through the hub', 'baseline', 'baseline is', 'target', 'verdict'],
      rows: [
        ['logs -f throughput, MB/s', mb(hubRate), mb(directRate), 'the same log server read directly over loopback', '', ''],
        [`sync p99 write -> node applied at ${writesPerSecond}/s, ms`, ms(p(loud, 0.99)), ms(p(quiet, 0.99)), 'the same, no log stream running', '< +10 %', `${cost >= 0 ? '+' : ''}${cost.toFixed(0)} %`],
        ['  p50, ms', ms(median(loud)), ms(median(quiet)), '', '', ''],
        ['  samples', loud.length, quiet.length, '', '', ''],
        ['log stream achieved during the second run, MB/s', mb(streamed), '', '', '10', ''],
      ],
      notes: [
        'Hub, API server, the bench process (all nodes and the log server behind their tunnels) and curl (the log reader) share one 2-core machine with other work; the log stream runs from bench-0, one of the nodes whose sync is measured.',
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

/**
 * Embedded API figures: creates per second through client-node (the hub's client), and watch
 * events per second delivered in total to 10 concurrent client-node watchers.
 *
 * The server runs as `cloud-hub apiserver` in its own process, as it does in use, so the
 * benchmark's clients do not share its event loop. The baseline of each row is measured in
 * the same run against a trivial Node HTTPS server in its own process (same certificate, same
 * clients, same request bodies) that stores nothing: it answers a POST with its body and writes
 * it to every open watch. The gap between the two columns is what the embedded API itself costs
 * (routing, validation, SQLite, history, filtering).
 */
import { CoreV1Api, KubeConfig, Watch, type RequestContext, type V1ConfigMap } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { verdict } from './measure.js';
import type { BenchSection } from './section.js';

export const CLOUD_HUB = fileURLToPath(new URL('../../cloud-hub/main.js', import.meta.url));
const CREATE_CONCURRENCY = 16;
const WATCHERS = 10;
const WRITE_CONCURRENCY = 8;

/** The trivial server of the baselines: echo POSTs (201), fan them out to open watches. */
export const TRIVIAL_SERVER = `
import https from 'node:https';
import { readFileSync } from 'node:fs';
const watches = new Set();
const server = https.createServer({ cert: readFileSync(process.env.CERT), key: readFileSync(process.env.KEY) }, (req, res) => {
  if (req.method === 'GET' && /[?&]watch=(1|true)/.test(req.url)) {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    watches.add(res);
    res.on('close', () => watches.delete(res));
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    const line = '{"type":"ADDED","object":' + body + '}\\n';
    for (const w of watches) w.write(line);
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'ready', port: server.address().port })));
`;

/**
 * client-node with one keep-alive https.Agent for all requests. By default client-node builds a
 * new Agent per request, so every request opens a TCP connection and does a full TLS handshake;
 * a long-running writer (the hub's upstream) keeps connections instead.
 */
class KeepAliveKubeConfig extends KubeConfig {
  private agent: https.Agent | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const perRequest = context.getAgent() as https.Agent | undefined;
    this.agent ??= new https.Agent({ ...perRequest?.options, keepAlive: true, maxSockets: CREATE_CONCURRENCY });
    context.setAgent(this.agent);
  }
}

function loadKubeConfig<T extends KubeConfig>(config: T, file: string, server?: string): T {
  config.loadFromFile(file);
  if (server) config.clusters = config.clusters.map((cluster) => ({ ...cluster, server }));
  return config;
}

export interface Child {
  process: ChildProcess;
  ready: Record<string, unknown>;
}

/** `onLog` sees every JSON log line the child writes after it is ready. */
export async function startChild(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = [], onLog?: (line: Record<string, unknown>) => void): Promise<Child> {
  const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'info', ...env } });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out starting ${args.join(' ')}`)), 30_000);
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        onLog?.(parsed);
        if (parsed.msg === 'ready') {
          clearTimeout(timer);
          resolve(parsed);
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return { process: child, ready };
}

export async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null) return;
  child.process.kill('SIGTERM');
  await once(child.process, 'exit');
}

function configMap(index: number): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `bench-${index}`, labels: { app: 'bench', 'edge-sync.io/site': 'site-a' } },
    data: { index: String(index), payload: 'x'.repeat(256) },
  };
}

/** Creates through client-node for `ms` (or exactly `count` when given), `CREATE_CONCURRENCY` in flight. */
async function clientNodeCreates(kc: KubeConfig, namespace: string, firstIndex: number, options: { ms?: number; count?: number }): Promise<{ count: number; seconds: number }> {
  const core = kc.makeApiClient(CoreV1Api);
  let next = firstIndex;
  let done = 0;
  const started = performance.now();
  const deadline = options.ms !== undefined ? started + options.ms : Number.POSITIVE_INFINITY;
  const limit = options.count ?? Number.POSITIVE_INFINITY;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && next - firstIndex < limit) {
      const index = next++;
      await core.createNamespacedConfigMap({ namespace, body: configMap(index) });
      done++;
    }
  };
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, worker));
  return { count: done, seconds: (performance.now() - started) / 1000 };
}

/** Raw keep-alive HTTPS POSTs, the cheap way to make writes for the watch measurement. */
function poster(server: string, ca: string, token: string | undefined): { post(path: string, body: string): Promise<void>; close(): void } {
  const agent = new https.Agent({ ca, keepAlive: true, maxSockets: WRITE_CONCURRENCY });
  return {
    post(urlPath: string, body: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
        if (token) headers.Authorization = `Bearer ${token}`;
        const req = https.request(new URL(urlPath, server), { method: 'POST', agent, headers }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`POST ${urlPath}: ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/**
 * Opens WATCHERS client-node watches on `watchPath`, writes for `ms`, and returns the events
 * delivered to all watchers per second (from the first write to the last event).
 */
async function watchFanout(kc: KubeConfig, watchPath: string, post: (index: number) => Promise<void>, ms: number): Promise<{ events: number; writes: number; perSecond: number }> {
  const watch = new Watch(kc);
  let delivered = 0;
  let lastEvent = 0;
  const controllers: AbortController[] = [];
  for (let i = 0; i < WATCHERS; i++) {
    controllers.push(
      await watch.watch(
        watchPath,
        {},
        (type) => {
          if (type === 'ADDED' || type === 'MODIFIED') {
            delivered++;
            lastEvent = performance.now();
          }
        },
        () => undefined,
      ),
    );
  }
  // The watches are open once their status line arrived; give the server a moment to register them all.
  await new Promise((resolve) => setTimeout(resolve, 200));
  let next = 0;
  const started = performance.now();
  const deadline = started + ms;
  const writer = async (): Promise<void> => {
    while (performance.now() < deadline) await post(next++);
  };
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, writer));
  const expected = next * WATCHERS;
  const waitUntil = performance.now() + 10_000;
  while (delivered < expected && performance.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 5));
  for (const controller of controllers) controller.abort();
  return { events: delivered, writes: next, perSecond: (delivered * 1000) / Math.max(1, lastEvent - started) };
}

export async function embeddedApiBench(ms: number): Promise<BenchSection> {
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-bench-embedded-'));
  let embedded: Child | undefined;
  let trivial: Child | undefined;
  try {
    embedded = await startChild([CLOUD_HUB, 'apiserver', '--data', dir, '--listen', '127.0.0.1:0', '--history', '1000000']);
    trivial = await startChild(['--input-type=module', '-e', TRIVIAL_SERVER], { CERT: path.join(dir, 'apiserver.crt'), KEY: path.join(dir, 'apiserver.key') });

    const kubeconfig = path.join(dir, 'kubeconfig');
    const trivialServer = `https://127.0.0.1:${trivial.ready.port as number}`;
    const kc = loadKubeConfig(new KubeConfig(), kubeconfig);
    const trivialKc = loadKubeConfig(new KubeConfig(), kubeconfig, trivialServer);
    const keepAliveKc = loadKubeConfig(new KeepAliveKubeConfig(), kubeconfig);
    const keepAliveTrivialKc = loadKubeConfig(new KeepAliveKubeConfig(), kubeconfig, trivialServer);

    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'bench' } } });
    await core.createNamespace({ body: { metadata: { name: 'keepalive' } } });
    await core.createNamespace({ body: { metadata: { name: 'fanout' } } });

    // Warm both servers and clients up.
    await clientNodeCreates(kc, 'bench', 1_000_000, { count: 200 });
    await clientNodeCreates(trivialKc, 'bench', 1_000_000, { count: 200 });
    const creates = await clientNodeCreates(kc, 'bench', 0, { ms });
    const createBaseline = await clientNodeCreates(trivialKc, 'bench', 0, { count: creates.count });
    const createRate = creates.count / creates.seconds;
    const createBaselineRate = createBaseline.count / createBaseline.seconds;
    await clientNodeCreates(keepAliveKc, 'keepalive', 1_000_000, { count: 500 });
    await clientNodeCreates(keepAliveTrivialKc, 'keepalive', 1_000_000, { count: 500 });
    const keepAlive = await clientNodeCreates(keepAliveKc, 'keepalive', 0, { ms });
    const keepAliveBaseline = await clientNodeCreates(keepAliveTrivialKc, 'keepalive', 0, { count: keepAlive.count });
    const keepAliveRate = keepAlive.count / keepAlive.seconds;
    const keepAliveBaselineRate = keepAliveBaseline.count / keepAliveBaseline.seconds;

    const ca = Buffer.from(kc.getCurrentCluster()?.caData ?? '', 'base64').toString('utf8');
    const token = readFileSync(path.join(dir, 'apiserver.token'), 'utf8').trim();
    const body = (index: number): string => JSON.stringify(configMap(index));
    const embeddedWriter = poster(String(embedded.ready.api), ca, token);
    const trivialWriter = poster(trivialServer, ca, undefined);
    const fanout = await watchFanout(kc, '/api/v1/namespaces/fanout/configmaps', (i) => embeddedWriter.post('/api/v1/namespaces/fanout/configmaps', body(i)), ms);
    const fanoutBaseline = await watchFanout(trivialKc, '/api/v1/namespaces/fanout/configmaps', (i) => trivialWriter.post('/api/v1/namespaces/fanout/configmaps', body(i)), ms);
    embeddedWriter.close();
    trivialWriter.close();

    return {
      title: 'Embedded API',
      header: ['measure', 'edge-sync', 'baseline', 'baseline is', 'target', 'verdict'],
      rows: [
        [
          `ConfigMap creates through client-node as configured by default (a TLS handshake per request), per s (${CREATE_CONCURRENCY} in flight)`,
          Math.round(createRate),
          Math.round(createBaselineRate),
          'same client-node creates to a trivial HTTPS echo server',
          '',
          '',
        ],
        [
          `ConfigMap creates through client-node with a keep-alive agent, per s (${CREATE_CONCURRENCY} in flight)`,
          Math.round(keepAliveRate),
          Math.round(keepAliveBaselineRate),
          'same client-node creates to a trivial HTTPS echo server',
          '>= 2,000',
          verdict(keepAliveRate, 2000),
        ],
        [
          `watch events delivered to ${WATCHERS} client-node watchers, per s (total)`,
          Math.round(fanout.perSecond),
          Math.round(fanoutBaseline.perSecond),
          'trivial HTTPS server writing each POST to every watch',
          '>= 20,000',
          verdict(fanout.perSecond, 20_000),
        ],
      ],
      notes: [
        `Server: \`cloud-hub apiserver\` in its own process (SQLite WAL, synchronous=NORMAL); clients in the bench process, so server and clients share the machine's cores.`,
        `client-node's default builds a new https.Agent per request: every create opens a connection and does a full TLS handshake, and the client's own CPU caps the rate (the baseline column shows the same cap against a server that does nothing). The 2,000/s target is judged on the keep-alive row, the way a long-running writer such as the hub uses the API.`,
        `Watch row: ${fanout.writes} creates (${WRITE_CONCURRENCY} keep-alive writers) gave ${fanout.events} events in total (baseline ${fanoutBaseline.writes} writes, ${fanoutBaseline.events} events).`,
      ],
    };
  } finally {
    if (trivial) await stopChild(trivial);
    if (embedded) await stopChild(embedded);
    rmSync(dir, { recursive: true, force: true });
  }
}

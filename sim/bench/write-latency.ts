/**
 * The embedded API's write latency at a fixed rate: merge patches of Pods (a label, an
 * annotation, sometimes the image) issued open loop at `rate` per second over keep-alive
 * connections while watches on every Pod are open (as the hub's informer holds one), timed from
 * the request leaving to the response arriving. This is the write the fleet benchmark's churn
 * makes at 1,000 changes/s, measured without the hub and the fleet sharing the machine, so it
 * can be profiled (BENCH_API_CPU_PROF=DIR runs the API server under node --cpu-prof).
 */
import https from 'node:https';

export interface LatencyResult {
  p50: number;
  p99: number;
  max: number;
  done: number;
  failed: number;
  achievedRate: number;
  /** The first failure's HTTP status, if any. */
  firstFailure?: number;
}

const PODS = 1_000;
const MAX_IN_FLIGHT = 256;

/** A merge patch replaces lists whole: an image change sends the container complete (only the image may change). */
function container(index: number): Record<string, unknown> {
  return {
    name: 'app',
    image: 'registry.local/app:1',
    command: ['/app', '--serve'],
    envFrom: [{ configMapRef: { name: `cfg-${index % 100}` } }],
    env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'shared', key: 'token' } } }],
    volumeMounts: [{ name: 'shared', mountPath: '/etc/shared' }],
  };
}

function podBody(namespace: string, index: number): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${index}`, namespace, labels: { app: 'bench', rev: '0' }, annotations: { 'edge-sync.io/sim-written-at': '0' } },
    spec: {
      nodeName: `node-${index % 100}`,
      containers: [container(index)],
      volumes: [{ name: 'shared', configMap: { name: 'shared' } }],
    },
  });
}

export interface Requester {
  request(method: string, path: string, body: string, contentType?: string): Promise<number>;
  close(): void;
}

export function requester(server: string, ca: string, token: string | undefined, maxSockets: number): Requester {
  const agent = new https.Agent({ ca, keepAlive: true, maxSockets });
  return {
    request(method, urlPath, body, contentType = 'application/json'): Promise<number> {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) };
        if (token) headers.Authorization = `Bearer ${token}`;
        const req = https.request(new URL(urlPath, server), { method, agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** Creates the Pods the patches go to. */
export async function seedPods(client: Requester, namespace: string): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < PODS) {
      const index = next++;
      const status = await client.request('POST', `/api/v1/namespaces/${namespace}/pods`, podBody(namespace, index));
      if (status !== 201) throw new Error(`creating pod-${index}: HTTP ${status}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** Patches at `rate` per second for `ms`, open loop (capped at MAX_IN_FLIGHT in flight). */
export async function patchLatency(client: Requester, namespace: string, rate: number, ms: number): Promise<LatencyResult> {
  const times: number[] = [];
  let issued = 0;
  let failed = 0;
  let firstFailure: number | undefined;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= ms) break;
    const due = Math.floor((rate * elapsed) / 1000);
    while (issued < due && inFlight < MAX_IN_FLIGHT) {
      const serial = ++issued;
      const index = serial % PODS;
      const annotations = { 'edge-sync.io/sim-written-at': String(Date.now()) };
      const patch =
        serial % 10 === 0
          ? { metadata: { annotations }, spec: { containers: [{ ...container(index), image: `registry.local/app:${serial}` }] } }
          : { metadata: { labels: { rev: String(serial) }, annotations } };
      const sent = performance.now();
      inFlight++;
      const write = client.request('PATCH', `/api/v1/namespaces/${namespace}/pods/pod-${index}`, JSON.stringify(patch), 'application/merge-patch+json').then(
        (status) => {
          if (status >= 200 && status < 300) times.push(performance.now() - sent);
          else {
            failed++;
            firstFailure ??= status;
          }
        },
        () => {
          failed++;
        },
      );
      pending.add(write);
      void write.finally(() => {
        inFlight--;
        pending.delete(write);
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(times.length * q))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: times[times.length - 1] ?? NaN, done: times.length, failed, achievedRate: times.length / seconds, ...(firstFailure === undefined ? {} : { firstFailure }) };
}

/** A real `cloud-hub --embedded` process on free loopback ports, with an API client and token admin for the test. */
import { KubeConfig } from '@kubernetes/client-node';
import { TokenAdmin } from '../../cloud-hub/auth/token-admin.js';
import { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { BIN, startProcess, type RunningProcess } from './process.js';
import { makeTempDir } from './tmp.js';

export interface HubHandle {
  proc: RunningProcess;
  /** ws://127.0.0.1:PORT */
  ws: string;
  api: string;
  metrics: string;
  /** The MQTT broker the hub serves through (`--embedded-broker`, port 0 allowed), if any. */
  mqtt: string | undefined;
  kubeconfig: string;
  data: string;
  client: KubeClient;
  tokens: TokenAdmin;
  /** Restart on the same data dir (and the same API port, so clients keep working). */
  restart(): Promise<HubHandle>;
  stop(): Promise<void>;
}

export interface HubStartOptions {
  data?: string;
  args?: string[];
  apiPort?: number;
  wsPort?: number;
}

export async function startHub(options: HubStartOptions = {}): Promise<HubHandle> {
  const dir = options.data ? undefined : makeTempDir('edge-hub-');
  const data = options.data ?? dir!.path;
  const proc = await startProcess(BIN.cloudHub, [
    '--embedded',
    '--data',
    data,
    '--listen',
    `127.0.0.1:${options.wsPort ?? 0}`,
    '--api-listen',
    `127.0.0.1:${options.apiPort ?? 0}`,
    '--metrics',
    '127.0.0.1:0',
    '--heartbeat-interval',
    '1000',
    ...(options.args ?? []),
  ]);
  const ready = proc.logs.find((line) => line.msg === 'ready')!;
  const kubeconfig = ready.kubeconfig as string;
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  const client = new KubeClient(config);
  const api = ready.api as string;
  const ws = ready.ws as string;
  const handle: HubHandle = {
    proc,
    ws,
    api,
    metrics: ready.metrics as string,
    mqtt: ready.mqtt as string | undefined,
    kubeconfig,
    data,
    client,
    tokens: new TokenAdmin(client, 'edge-system'),
    restart: async () => {
      client.close();
      const next = await startHub({ ...options, data, apiPort: Number(new URL(api).port), wsPort: Number(new URL(ws.replace('ws:', 'http:')).port) });
      const stopNext = next.stop;
      next.stop = async () => {
        await stopNext();
        dir?.remove();
      };
      return next;
    },
    stop: async () => {
      client.close();
      await proc.stop();
      dir?.remove();
    },
  };
  return handle;
}

/** The value of a metric (summed over label sets matching `labels`) from a Prometheus text endpoint. */
export async function metricValue(metricsUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const set = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => set[k] === v)) total += Number(match[4]);
  }
  return total;
}

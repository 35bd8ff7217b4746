/** The local API under test: a real CacheStore in a temp dir, a real LocalApiServer on a free loopback port, a real HTTP client. */
import { get as httpGet, type ClientRequest, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { pino, type Logger } from 'pino';
import { contentVersion, type JsonObject, type SyncOp } from '../../../protocol/index.js';
import { openCacheStore, type CacheStore } from '../../../edge-agent/store/index.js';
import { LocalApiServer, type LocalApiServerOptions } from '../../../edge-agent/local-api/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

export function quietLogger(): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? 'warn' });
}

export function pod(name: string, options: { namespace?: string; labels?: Record<string, string>; nodeName?: string; image?: string; status?: JsonObject } = {}): JsonObject {
  const obj: JsonObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: options.namespace ?? 'default', labels: options.labels ?? { app: name }, resourceVersion: '777001', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { nodeName: options.nodeName ?? 'edge-1', containers: [{ name: 'main', image: options.image ?? 'registry.example/app:1.0' }] },
  };
  if (options.status) obj.status = options.status;
  return obj;
}

export function configMap(name: string, data: Record<string, string>, namespace = 'default'): JsonObject {
  // No kind/apiVersion, as items of an informer's list arrive: the API must fill them in.
  return { metadata: { name, namespace, resourceVersion: '777002', creationTimestamp: '2026-01-01T00:00:00Z' }, data };
}

export function secret(name: string, data: Record<string, string>, namespace = 'default'): JsonObject {
  const encoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) encoded[k] = Buffer.from(v).toString('base64');
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data: encoded };
}

export function node(name: string, labels: Record<string, string> = {}): JsonObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels, creationTimestamp: '2026-01-01T00:00:00Z' } };
}

export function keyOf(obj: JsonObject): string {
  const metadata = obj.metadata as JsonObject;
  // configMap() leaves kind out on purpose (see there); every other builder sets it.
  return `${String(obj.kind ?? 'ConfigMap')}/${String(metadata.namespace ?? '')}/${String(metadata.name)}`;
}

export function putOp(key: string, obj: JsonObject): SyncOp {
  return { op: 'put', key, rv: contentVersion(obj), obj };
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: JsonObject;
  text: string;
}

export class LocalApiFixture {
  private readonly tmp = makeTempDir('edge-local-api-');
  readonly cache: CacheStore;
  private readonly servers: LocalApiServer[] = [];
  private readonly watches: WatchClient[] = [];
  server!: LocalApiServer;
  url = '';

  constructor(options: { tombstoneLimit?: number } = {}) {
    this.cache = openCacheStore({ dir: this.tmp.path, logger: quietLogger(), tombstoneLimit: options.tombstoneLimit });
  }

  /** Starts (another) server on the same cache; the fixture's `server`/`url` are the first one's. */
  async startServer(options: Partial<Omit<LocalApiServerOptions, 'readModel'>> = {}): Promise<{ server: LocalApiServer; url: string }> {
    const server = new LocalApiServer({ readModel: this.cache, host: '127.0.0.1', port: 0, serveSecrets: false, logger: quietLogger(), ...options });
    const url = await server.start();
    this.servers.push(server);
    if (this.servers.length === 1) {
      this.server = server;
      this.url = url;
    }
    return { server, url };
  }

  /** Puts each object under its key (kind from `kind` or the object); one batch. */
  put(...objects: Array<JsonObject | [string, JsonObject]>): void {
    this.cache.apply(objects.map((entry) => (Array.isArray(entry) ? putOp(entry[0], entry[1]) : putOp(keyOf(entry), entry))));
  }

  del(...keys: string[]): void {
    this.cache.apply(keys.map((key) => ({ op: 'del', key })));
  }

  async request(path: string, init: RequestInit & { base?: string } = {}): Promise<HttpAnswer> {
    const response = await fetch(`${init.base ?? this.url}${path}`, init);
    const text = await response.text();
    let body: JsonObject = {};
    try {
      body = JSON.parse(text) as JsonObject;
    } catch {
      // not JSON (healthz): text carries it
    }
    return { status: response.status, headers: response.headers, body, text };
  }

  watch(path: string, options: { accept?: string; base?: string } = {}): WatchClient {
    const client = new WatchClient(`${options.base ?? this.url}${path}`, options.accept);
    this.watches.push(client);
    return client;
  }

  async close(): Promise<void> {
    for (const watch of this.watches) watch.close();
    for (const server of this.servers) await server.close();
    this.cache.close();
    this.tmp.remove();
  }
}

export interface WatchEvent {
  type: string;
  object: JsonObject;
}

/** A streaming watch request; collects the newline-delimited events as they arrive. */
export class WatchClient {
  readonly events: WatchEvent[] = [];
  statusCode: number | undefined;
  ended = false;
  private readonly request: ClientRequest;

  constructor(url: string, accept?: string) {
    this.request = httpGet(url, { headers: accept ? { Accept: accept } : {} }, (res: IncomingMessage) => {
      this.statusCode = res.statusCode;
      const lines = createInterface({ input: res });
      lines.on('line', (line) => {
        if (line.trim() !== '') this.events.push(JSON.parse(line) as WatchEvent);
      });
      // readline re-emits the response's errors; a reset by close() or the server is an end here.
      lines.on('error', () => (this.ended = true));
      res.on('end', () => (this.ended = true));
      res.on('close', () => (this.ended = true));
    });
    this.request.on('error', () => (this.ended = true));
  }

  /** Waits for at least `n` events and returns them all. */
  async waitForEvents(n: number, what = `${n} watch events`): Promise<WatchEvent[]> {
    await waitFor(() => this.events.length >= n, { what: `${what} (have ${JSON.stringify(this.summary())})` });
    return this.events;
  }

  async waitForEnd(): Promise<void> {
    await waitFor(() => this.ended, { what: 'the watch stream to end' });
  }

  /** `TYPE name@rv` per event, for readable assertions. */
  summary(): string[] {
    return this.events.map((event) => {
      const metadata = (event.object.metadata ?? {}) as JsonObject;
      return `${event.type} ${String(metadata.name ?? '')}@${String(metadata.resourceVersion ?? '')}`.trim();
    });
  }

  close(): void {
    this.request.destroy();
  }
}

export function nameOf(obj: JsonObject): string {
  return String((obj.metadata as JsonObject).name);
}

export function rvOf(obj: JsonObject): string {
  return String((obj.metadata as JsonObject).resourceVersion);
}

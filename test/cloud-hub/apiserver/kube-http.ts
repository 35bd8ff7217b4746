/**
 * Test helpers for the embedded API: a raw HTTPS client that trusts the kubeconfig's CA and
 * sends its token (so tests see status codes, headers and bodies exactly), a watch reader that
 * collects newline-delimited events, an in-process server factory, and the restart-on-error
 * loop a client-node ListWatch needs (it stops on any error but 410).
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { EmbeddedApiServer, type EmbeddedApiServerOptions } from '../../../cloud-hub/apiserver/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

export type Json = Record<string, any>;

export interface KubeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Json;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is when a string or Buffer; JSON-encoded otherwise. */
  contentType?: string;
  accept?: string;
  /** Another token, or null for none. */
  token?: string | null;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
  headers?: Record<string, string>;
}

interface KubeconfigFile {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { token: string } }[];
}

export class KubeHttp {
  readonly agent: https.Agent;

  constructor(
    readonly server: string,
    readonly ca: string,
    readonly token: string,
  ) {
    this.agent = new https.Agent({ ca, keepAlive: true, maxSockets: 16 });
  }

  static fromKubeconfig(file: string): KubeHttp {
    const config = parseYaml(readFileSync(file, 'utf8')) as KubeconfigFile;
    const cluster = config.clusters[0]!.cluster;
    return new KubeHttp(cluster.server, Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8'), config.users[0]!.user.token);
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<KubeResponse> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? this.token : options.token;
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    if (options.accept) headers.Accept = options.accept;
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.isBuffer(options.body) ? options.body : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
      headers['Content-Type'] = options.contentType ?? 'application/json';
      if (!options.chunked) headers['Content-Length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = https.request(new URL(path, this.server), { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Json = {};
          try {
            json = JSON.parse(text) as Json;
          } catch {
            // not JSON: tests look at text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (payload && options.chunked) {
        for (let at = 0; at < payload.length; at += 256 * 1024) req.write(payload.subarray(at, at + 256 * 1024));
        req.end();
      } else {
        req.end(payload);
      }
    });
  }

  get(path: string, options?: RequestOptions): Promise<KubeResponse> {
    return this.request('GET', path, options);
  }

  post(path: string, body: unknown, options?: RequestOptions): Promise<KubeResponse> {
    return this.request('POST', path, { ...options, body });
  }

  put(path: string, body: unknown, options?: RequestOptions): Promise<KubeResponse> {
    return this.request('PUT', path, { ...options, body });
  }

  patch(path: string, body: unknown, contentType = 'application/merge-patch+json', options?: RequestOptions): Promise<KubeResponse> {
    return this.request('PATCH', path, { ...options, body, contentType });
  }

  delete(path: string, body?: unknown, options?: RequestOptions): Promise<KubeResponse> {
    return this.request('DELETE', path, body === undefined ? options : { ...options, body });
  }

  /** Opens a watch (adds watch=true) and collects its events. */
  watch(path: string, options: RequestOptions = {}): Promise<WatchReader> {
    const url = new URL(path, this.server);
    url.searchParams.set('watch', 'true');
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, ...options.headers };
    if (options.accept) headers.Accept = options.accept;
    return new Promise((resolve, reject) => {
      // A dedicated agent: a watch holds its connection for its whole life.
      const req = https.request(url, { method: 'GET', headers, ca: this.ca, agent: false }, (res) => resolve(new WatchReader(req, res)));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface WatchEvent {
  type: string;
  object: Json;
}

export class WatchReader {
  readonly events: WatchEvent[] = [];
  ended = false;
  private buffer = '';

  constructor(
    private readonly req: ReturnType<typeof https.request>,
    readonly res: import('node:http').IncomingMessage,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        if (line.trim() !== '') this.events.push(JSON.parse(line) as WatchEvent);
      }
    });
    res.on('end', () => (this.ended = true));
    res.on('close', () => (this.ended = true));
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  /** Waits until at least `n` events arrived and returns them. */
  async waitForCount(n: number, timeoutMs = 10_000): Promise<WatchEvent[]> {
    await waitFor(() => this.events.length >= n, { timeoutMs, what: `${n} watch events (have ${this.events.length})` });
    return this.events.slice(0, n);
  }

  async waitForEnd(timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.ended, { timeoutMs, what: 'the watch to end' });
  }

  close(): void {
    this.req.destroy();
  }
}

/** An EmbeddedApiServer in this process on 127.0.0.1:0 with a fresh data dir (or the given one). */
export async function startInProcess(options: Partial<EmbeddedApiServerOptions> = {}): Promise<{ server: EmbeddedApiServer; http: KubeHttp; dataDir: string; stop(): Promise<void> }> {
  const temp = options.dataDir ? undefined : makeTempDir('edge-embedded-');
  const dataDir = options.dataDir ?? temp!.path;
  const server = new EmbeddedApiServer({ dataDir, host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), ...options });
  await server.start();
  const http = KubeHttp.fromKubeconfig(server.kubeconfigPath);
  return {
    server,
    http,
    dataDir,
    async stop() {
      http.close();
      await server.close();
      temp?.remove();
    },
  };
}

/** Objects as tests create them. */
export function pod(name: string, extra: { nodeName?: string; labels?: Record<string, string>; namespace?: string } = {}): Json {
  const spec: Json = { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] };
  if (extra.nodeName) spec.nodeName = extra.nodeName;
  const metadata: Json = { name };
  if (extra.labels) metadata.labels = extra.labels;
  if (extra.namespace) metadata.namespace = extra.namespace;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

export function configMap(name: string, data: Record<string, string> = { key: 'value' }): Json {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data };
}

/**
 * Keeps a client-node ListWatch going the way the hub does: on 'error' (it stops on anything
 * but 410), start it again after a short delay. `paused` stops restarting (for a deliberate
 * stop()); `errors` collects what was seen.
 */
export function restartOnError(informer: { on(event: 'error', cb: (err: unknown) => void): void; start(): Promise<void> }, delayMs = 100): { paused: boolean; errors: unknown[] } {
  const state = { paused: false, errors: [] as unknown[] };
  informer.on('error', (err: unknown) => {
    state.errors.push(err);
    if (state.paused) return;
    setTimeout(() => {
      if (!state.paused) void informer.start().catch(() => undefined);
    }, delayMs);
  });
  return state;
}

/**
 * A small JSON client for the Kubernetes API on top of a client-node KubeConfig.
 *
 * The informers use client-node itself; writes and raw lists go through here because we want
 * plain JSON in and out (client-node 1.x's typed API turns timestamps into Dates and needs
 * middleware to pick a patch content type) and one keep-alive connection pool for the hub.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export const MERGE_PATCH = 'application/merge-patch+json';

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
}

/** A non-2xx answer, with the Kubernetes Status reason when the server sent one. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** The API server could not be reached (refused, unresolvable, TLS failure, timeout): no HTTP answer at all. */
export class KubeConnectionError extends Error {
  constructor(
    readonly server: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'KubeConnectionError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}

interface Connection {
  server: URL;
  agent: http.Agent;
  headers: Record<string, string>;
  expires: number;
}

/** How long credentials read from the kubeconfig are reused (service-account tokens rotate). */
const CREDENTIALS_TTL_MS = 60_000;

export class KubeClient {
  private connection?: Promise<Connection>;

  constructor(
    private readonly config: KubeConfig,
    private readonly maxSockets = 64,
  ) {}

  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  async request<T = unknown>(req: KubeRequest): Promise<T> {
    const conn = await this.connect();
    // Join rather than resolve, so a server URL with a path prefix (an API proxy) keeps it.
    const url = new URL(`${conn.server.href.replace(/\/$/, '')}${req.path}`);
    for (const [name, value] of Object.entries(req.query ?? {})) if (value !== undefined) url.searchParams.set(name, value);
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = { ...conn.headers, accept: 'application/json' };
    if (payload) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const transport = url.protocol === 'http:' ? http : https;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = transport.request(url, { method: req.method, headers, agent: conn.agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.on('error', (err: NodeJS.ErrnoException) =>
        reject(new KubeConnectionError(conn.server.origin, err.code, `cannot reach the cluster API at ${conn.server.origin} (${req.method} ${url.pathname}): ${err.message}`)),
      );
      request.setTimeout(30_000, () => request.destroy(Object.assign(new Error('no answer within 30 s'), { code: 'ETIMEDOUT' })));
      request.end(payload);
    });
    let body: unknown;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (status < 200 || status >= 300) {
      const statusObj = (body ?? {}) as { reason?: string; message?: string };
      throw new KubeApiError(status, statusObj.reason ?? 'Unknown', `${req.method} ${url.pathname}: ${status} ${statusObj.message ?? text.slice(0, 200)}`);
    }
    return body as T;
  }

  get<T = unknown>(path: string, query?: Record<string, string | undefined>): Promise<T> {
    return this.request<T>({ method: 'GET', path, ...(query ? { query } : {}) });
  }

  create<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>({ method: 'POST', path, body });
  }

  mergePatch<T = unknown>(path: string, patch: unknown): Promise<T> {
    return this.request<T>({ method: 'PATCH', path, body: patch, contentType: MERGE_PATCH });
  }

  replace<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>({ method: 'PUT', path, body });
  }

  delete<T = unknown>(path: string, query?: Record<string, string | undefined>, options?: unknown): Promise<T> {
    return this.request<T>({ method: 'DELETE', path, ...(query ? { query } : {}), ...(options === undefined ? {} : { body: options }) });
  }

  close(): void {
    void this.connection?.then((conn) => conn.agent.destroy()).catch(() => undefined);
  }

  private connect(): Promise<Connection> {
    const current = this.connection;
    if (current) {
      return current.then((conn) => {
        if (conn.expires > Date.now()) return conn;
        this.connection = this.open(conn.agent);
        return this.connection;
      });
    }
    this.connection = this.open();
    this.connection.catch(() => (this.connection = undefined));
    return this.connection;
  }

  private async open(reuse?: http.Agent): Promise<Connection> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const options: https.RequestOptions = {};
    await this.config.applyToHTTPSOptions(options);
    // applyToHTTPSOptions builds a fresh agent on every call; keep one pooled agent instead.
    (options.agent as http.Agent | undefined)?.destroy();
    const server = new URL(cluster.server.endsWith('/') ? cluster.server : `${cluster.server}/`);
    const agent =
      reuse ??
      (server.protocol === 'http:'
        ? new http.Agent({ keepAlive: true, maxSockets: this.maxSockets })
        : new https.Agent({
            keepAlive: true,
            maxSockets: this.maxSockets,
            ...(options.ca ? { ca: options.ca } : {}),
            ...(options.cert ? { cert: options.cert } : {}),
            ...(options.key ? { key: options.key } : {}),
            ...(options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {}),
          }));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (typeof value === 'string') headers[name.toLowerCase()] = value;
      else if (Array.isArray(value)) headers[name.toLowerCase()] = value.join(', ');
    }
    if (options.auth) headers.authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
    return { server, agent, headers, expires: Date.now() + CREDENTIALS_TTL_MS };
  }
}

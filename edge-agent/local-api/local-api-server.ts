/**
 * The agent's read-only Kubernetes API on localhost: edge applications (client-go, client-node,
 * plain HTTP) and `kubectl --server http://127.0.0.1:PORT` list, get and watch the Pods,
 * ConfigMaps, Secrets and Nodes the agent has cached, whether or not the cloud is reachable.
 *
 * This class is the HTTP layer only: it routes (routes.ts), checks the query
 * (request-options.ts), negotiates the representation (representation.ts) and answers from the
 * source; watches live in watch-stream.ts, woken through watch-registry.ts. It serves plain HTTP
 * and has no authentication, so anything that can reach the port can read what it serves:
 * Secrets are off unless the operator turns them on, it refuses to bind anything but loopback
 * unless told `allowRemote`, and it answers only requests whose Host header names this machine
 * (host-check.ts: DNS rebinding). Every request is answered, whatever its bytes: a `Status` for
 * anything refused, 500 for anything that fails, and the limits below bound what one local
 * client can hold (watches, connections, header bytes, time to send a request).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { formatKey, type JsonObject } from '../../protocol/index.js';
import {
  ApiError,
  contentTypeOf,
  coreApiVersions,
  failureStatus,
  kubeTable,
  negotiateRepresentation,
  partialObjectMetadata,
  SelectorError,
  statusErrors,
  type Representation,
} from '../../protocol/kube/index.js';
import { coreResourceList, noApiGroups, versionDocument } from './discovery.js';
import { ObjectFilter } from './object-filter.js';
import { NamespaceView, namespaceWatchNotServed } from './namespaces.js';
import { ObjectPresenter, type NodeStatusLookup, type PodStatusLookup } from './presenter.js';
import { parseRequestOptions, parseResourceVersion, type RequestOptions } from './request-options.js';
import { API_VERSION, type ResourceInfo } from './resources.js';
import { routeOf, type Route } from './routes.js';
import type { LocalReadModel } from './read-model.js';
import { answerClientError } from './client-error.js';
import { HostPolicy, isLoopbackAddress } from './host-check.js';
import { parseRequestTarget } from './request-target.js';
import { localApiErrors } from './status.js';
import { WatchEventEncoder } from './watch-events.js';
import { WatchRegistry } from './watch-registry.js';
import { WatchStream, type WatchStart } from './watch-stream.js';

/** kube-apiserver sends bookmarks about once a minute. */
export const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000;

/** What one local client can hold at most, unless the caller says otherwise (README, "Limits"). */
export const LOCAL_API_LIMITS = {
  /** Open watches; one more gets 429 TooManyRequests. */
  maxWatches: 128,
  /** Open connections; beyond it new connections are closed at once. */
  maxConnections: 256,
  /** Request line plus headers; more gets 431. */
  maxHeaderBytes: 16 * 1024,
  /** From the first byte of a request to the end of its headers; slower gets 408. */
  headersTimeoutMs: 10_000,
  /** From the first byte of a request to its end, body included. */
  requestTimeoutMs: 30_000,
} as const;

/** Thrown by `start()` for an address that is not loopback without `allowRemote`. */
export class RemoteBindRefusedError extends Error {
  override readonly name = 'RemoteBindRefusedError';
}

export interface LocalApiServerOptions {
  /** What the API serves: the cache's change log (`CacheStore.changeLog`, or the `CacheStore`), or anything with the same read methods. */
  readModel: LocalReadModel;
  /** Address to bind; the agent passes 127.0.0.1 (from `--local-api HOST:PORT`). */
  host: string;
  /**
   * Bind a non-loopback address (`--local-api-allow-remote`). Without it `start()` refuses
   * one. With it, requests may also name this machine by its addresses and host name.
   */
  allowRemote?: boolean;
  /** More Host header names to accept (a DNS name remote clients use). */
  allowedHostNames?: readonly string[];
  /** Limits per server; defaults in LOCAL_API_LIMITS. */
  maxWatches?: number;
  maxConnections?: number;
  maxHeaderBytes?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** 0 picks a free port; `start()` returns the one bound. */
  port: number;
  /** Serve Secrets (`--local-api-secrets`); otherwise they are 403 Forbidden. */
  serveSecrets: boolean;
  logger: Logger;
  /**
   * The live status of a Pod, by key, merged into served Pods (the runtime knows it; the cache
   * has none, as the hub strips Pod status). Absent, or returning undefined: the Pod as cached.
   */
  podStatus?: PodStatusLookup;
  /**
   * The status of a Node, by name, served instead of the cached one (the agent knows its own
   * node: Ready, addresses, nodeInfo; the hub's copy in the cache has none). Absent, or
   * returning undefined: the Node as cached.
   */
  nodeStatus?: NodeStatusLookup;
  /**
   * Serves `GET /api/v1/namespaces/NS/pods/NAME/log` (the agent's container log reader, with the
   * API server's query); absent: that path is 404.
   */
  podLogs?: (res: ServerResponse, namespace: string, name: string, query: URLSearchParams) => Promise<void>;
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK. Default 60 s. */
  bookmarkIntervalMs?: number;
  /** Clock for the AGE column of Tables, ms since the epoch. Default Date.now. */
  now?: () => number;
}

export class LocalApiServer {
  private readonly readModel: LocalReadModel;
  private readonly logger: Logger;
  private readonly presenter: ObjectPresenter;
  private readonly namespaces: NamespaceView;
  private readonly registry: WatchRegistry;
  private readonly bookmarkIntervalMs: number;
  private readonly now: () => number;
  private readonly hostPolicy: HostPolicy;
  private readonly maxWatches: number;
  private readonly maxHeaderBytes: number;
  private server: Server | undefined;
  private boundAddress: string | undefined;

  constructor(private readonly options: LocalApiServerOptions) {
    this.readModel = options.readModel;
    this.logger = options.logger;
    this.presenter = new ObjectPresenter(options.podStatus, options.nodeStatus);
    this.namespaces = new NamespaceView(options.readModel, options.serveSecrets);
    this.registry = new WatchRegistry(options.readModel);
    this.bookmarkIntervalMs = options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS;
    this.now = options.now ?? Date.now;
    this.hostPolicy = new HostPolicy({ boundHost: options.host, allowRemote: options.allowRemote ?? false, extraNames: options.allowedHostNames ?? [] });
    this.maxWatches = options.maxWatches ?? LOCAL_API_LIMITS.maxWatches;
    this.maxHeaderBytes = options.maxHeaderBytes ?? LOCAL_API_LIMITS.maxHeaderBytes;
  }

  /** Open watches, for metrics and tests. */
  get watchCount(): number {
    return this.registry.size;
  }

  /** Binds and serves; resolves with the base URL, `http://host:port`, with the port actually bound. */
  async start(): Promise<string> {
    if (this.server) throw new Error('LocalApiServer already started');
    const { host, allowRemote } = this.options;
    if (!allowRemote && !isLoopbackAddress(host)) {
      throw new RemoteBindRefusedError(
        `the local API has no authentication and binds loopback only (127.0.0.1, ::1, localhost), not ${JSON.stringify(host)}; allow other addresses with --local-api-allow-remote`,
      );
    }
    const server = createServer(
      {
        maxHeaderSize: this.maxHeaderBytes,
        headersTimeout: this.options.headersTimeoutMs ?? LOCAL_API_LIMITS.headersTimeoutMs,
        requestTimeout: this.options.requestTimeoutMs ?? LOCAL_API_LIMITS.requestTimeoutMs,
        // How often the two timeouts above are checked.
        connectionsCheckingInterval: 1_000,
      },
      (req, res) => this.handle(req, res),
    );
    server.maxConnections = this.options.maxConnections ?? LOCAL_API_LIMITS.maxConnections;
    server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => answerClientError(err, socket, this.maxHeaderBytes));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.registry.open();
    const address = server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.boundAddress = `${shown}:${address.port}`;
    const url = `http://${this.boundAddress}`;
    this.logger.info({ url, serveSecrets: this.options.serveSecrets, allowRemote: allowRemote ?? false }, 'local API listening');
    return url;
  }

  /** Ends every watch (clients see a clean end of stream and re-watch), closes connections and stops listening. */
  async close(): Promise<void> {
    this.registry.closeAll('server closing');
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Answers every request; nothing it throws leaves this method. */
  private handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      // A body is never read: close the connection after answering instead of reading one in.
      if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.shouldKeepAlive = false;
      const refusal = this.hostPolicy.refusal(req.headers.host);
      if (refusal !== undefined) throw localApiErrors.hostNotAllowed(refusal);
      // Every write is refused, whatever the path: the cache follows the cluster, never the reverse.
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        throw localApiErrors.methodNotAllowed();
      }
      const target = parseRequestTarget(req.url);
      const route = routeOf(target.pathname);
      if (!route) throw statusErrors.routeNotFound();
      this.serve(route, req, res, target.query);
    } catch (err) {
      try {
        this.sendError(req, res, err);
      } catch (sendErr) {
        this.logger.error({ err: sendErr }, 'local API could not answer a request');
        res.destroy();
      }
    }
  }

  private serve(route: Route, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    switch (route.type) {
      case 'healthz':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      case 'version':
        return sendJson(res, 200, versionDocument());
      case 'api':
        return sendJson(res, 200, coreApiVersions(req.headers.host ?? this.boundAddress ?? ''));
      case 'apis':
        return sendJson(res, 200, noApiGroups());
      case 'api-v1':
        return sendJson(res, 200, coreResourceList());
      case 'resource':
        return this.serveResource(route, req, res, query);
      case 'namespaces':
        return this.serveNamespaces(route, req, res, query);
      case 'log': {
        const podLogs = this.options.podLogs;
        if (!podLogs) throw statusErrors.routeNotFound();
        podLogs(res, route.namespace, route.name, query).catch((err: unknown) => this.sendError(req, res, err));
        return;
      }
    }
  }

  private serveNamespaces(route: Extract<Route, { type: 'namespaces' }>, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const options = parseRequestOptions(query);
    if (route.watchPath || options.watch) throw namespaceWatchNotServed();
    const representation = negotiateRepresentation(req.headers.accept, options.includeObject);
    const { seq, items } = route.name === undefined ? this.namespaces.list() : { seq: this.readModel.currentSeq(), items: [this.namespaces.get(route.name)] };
    const resourceVersion = String(seq);
    if (representation.as === 'table') {
      return sendJson(res, 200, kubeTable('Namespace', items, { ...tableOptions(representation), resourceVersion, withColumns: true, now: this.now() }), contentTypeOf(representation, route.name === undefined));
    }
    if (representation.as === 'metadata') {
      const metas = items.map((obj) => partialObjectMetadata(obj, representation.apiVersion));
      const body = route.name === undefined ? { kind: 'PartialObjectMetadataList', apiVersion: representation.apiVersion, metadata: { resourceVersion }, items: metas } : (metas[0] as JsonObject);
      return sendJson(res, 200, body, contentTypeOf(representation, route.name === undefined));
    }
    const body = route.name === undefined ? { kind: 'NamespaceList', apiVersion: API_VERSION, metadata: { resourceVersion }, items } : (items[0] as JsonObject);
    sendJson(res, 200, body, contentTypeOf(representation, route.name === undefined));
  }

  private serveResource(route: Extract<Route, { type: 'resource' }>, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const { info, namespace, name } = route;
    if (info.kind === 'Secret' && !this.options.serveSecrets) throw localApiErrors.secretsForbidden(name);
    const options = parseRequestOptions(query);
    const representation = negotiateRepresentation(req.headers.accept, options.includeObject);
    if (route.watchPath || options.watch) return this.watch(info, namespace, name, options, representation, res);
    if (name !== undefined) return this.get(info, namespace, name, representation, res);
    return this.list(info, namespace, options, representation, res);
  }

  private get(info: ResourceInfo, namespace: string | undefined, name: string, representation: Representation, res: ServerResponse): void {
    const key = formatKey(info.kind, namespace ?? '', name);
    const stored = this.readModel.getStored ? this.readModel.getStored(key) : this.readModel.list(info.kind, namespace ?? '').items.find((item) => item.key === key);
    if (!stored) throw localApiErrors.objectNotFound(info, name);
    const served = this.presenter.present(info, key, stored.seq, stored.obj);
    const body =
      representation.as === 'object'
        ? served
        : representation.as === 'metadata'
          ? partialObjectMetadata(served, representation.apiVersion)
          : kubeTable(info.kind, [served], { ...tableOptions(representation), resourceVersion: String(stored.seq), withColumns: true, now: this.now() });
    sendJson(res, 200, body, contentTypeOf(representation, false));
  }

  private list(info: ResourceInfo, namespace: string | undefined, options: RequestOptions, representation: Representation, res: ServerResponse): void {
    const filter = this.filterFor(info, namespace, options);
    const listed = this.readModel.list(info.kind, namespace);
    // A list always reads the current state, which satisfies "not older than" any version this
    // API handed out. An exact older version it cannot produce: 410, as kube after compaction.
    if (options.resourceVersionMatch === 'Exact' && parseResourceVersion(options.resourceVersion) !== listed.seq) {
      throw statusErrors.expired(`the edge local API lists only the current state (resourceVersion ${listed.seq}), not resourceVersion ${options.resourceVersion}`);
    }
    const served: JsonObject[] = [];
    for (const item of listed.items) {
      const obj = this.presenter.present(info, item.key, item.seq, item.obj);
      if (filter.matches(item.key, obj)) served.push(obj);
    }
    const resourceVersion = String(listed.seq);
    let body: JsonObject;
    if (representation.as === 'table') {
      body = kubeTable(info.kind, served, { ...tableOptions(representation), resourceVersion, withColumns: true, now: this.now() });
    } else if (representation.as === 'metadata') {
      body = {
        kind: 'PartialObjectMetadataList',
        apiVersion: representation.apiVersion,
        metadata: { resourceVersion },
        items: served.map((obj) => partialObjectMetadata(obj, representation.apiVersion)),
      };
    } else {
      body = { kind: info.listKind, apiVersion: API_VERSION, metadata: { resourceVersion }, items: served };
    }
    sendJson(res, 200, body, contentTypeOf(representation, true));
  }

  private watch(info: ResourceInfo, namespace: string | undefined, name: string | undefined, options: RequestOptions, representation: Representation, res: ServerResponse): void {
    if (this.registry.size >= this.maxWatches) {
      res.setHeader('Retry-After', '1');
      throw localApiErrors.tooManyWatches(this.maxWatches);
    }
    const filter = this.filterFor(info, namespace, options, name);
    const start = watchStart(options);
    const watch = new WatchStream({
      readModel: this.readModel,
      info,
      filter,
      presenter: this.presenter,
      encoder: new WatchEventEncoder(info, representation, this.now),
      response: res,
      allowBookmarks: options.allowWatchBookmarks,
      bookmarkIntervalMs: this.bookmarkIntervalMs,
      timeoutMs: options.timeoutSeconds === undefined ? undefined : options.timeoutSeconds * 1000,
      logger: this.logger,
      onClose: (closed) => this.registry.remove(closed),
    });
    // start() is synchronous and onChange fires only inside a later apply, so registering after
    // it cannot miss a wake-up; a change already committed is read from the cursor anyway.
    watch.start(start);
    if (!watch.isClosed) this.registry.add(watch);
  }

  private filterFor(info: ResourceInfo, namespace: string | undefined, options: RequestOptions, name?: string): ObjectFilter {
    try {
      return ObjectFilter.fromQuery(info.kind, namespace, options.labelSelector, options.fieldSelector, name);
    } catch (err) {
      if (err instanceof SelectorError) throw statusErrors.badRequest(err.message);
      throw err;
    }
  }

  private sendError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const status = err instanceof ApiError ? err.toStatus() : failureStatus(500, 'InternalError', 'the edge local API failed to read the cache; see the agent log');
    const url = req.url?.slice(0, 512);
    if (!(err instanceof ApiError)) this.logger.error({ err, method: req.method, url }, 'local API request failed');
    else this.logger.debug({ method: req.method, url, code: err.code, reason: err.reason }, 'local API request refused');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, status.code as number, status);
  }
}

function tableOptions(representation: Extract<Representation, { as: 'table' }>): { apiVersion: string; includeObject: Extract<Representation, { as: 'table' }>['includeObject'] } {
  return { apiVersion: representation.apiVersion, includeObject: representation.includeObject };
}

/**
 * Where a watch starts, from resourceVersion and sendInitialEvents as kube reads them: "" and
 * "0" mean the current state (sent as ADDED events unless sendInitialEvents=false), a number
 * means the changes after it. sendInitialEvents=true (the streaming-list protocol) sends the
 * current state and, with bookmarks allowed, the BOOKMARK that marks its end.
 */
function watchStart(options: RequestOptions): WatchStart {
  const rv = options.resourceVersion;
  if (options.sendInitialEvents === true) return { from: 'now', initialEvents: true, initialEventsEndBookmark: options.allowWatchBookmarks };
  if (rv === '' || rv === '0') return { from: 'now', initialEvents: options.sendInitialEvents !== false, initialEventsEndBookmark: false };
  return { from: 'seq', seq: parseResourceVersion(rv) };
}

function sendJson(res: ServerResponse, code: number, body: JsonObject, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

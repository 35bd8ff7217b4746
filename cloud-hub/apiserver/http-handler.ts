/**
 * The HTTP front of the embedded API: authenticate, resolve the request (request-info.ts),
 * authorize, then route to discovery or to the registry's verbs with the request's parameters
 * (request-params.ts), and write Kubernetes JSON (objects, lists, Tables, Status errors;
 * responses.ts) or a watch stream. A write is answered only once the
 * registry says it is durable (group commit). One request line per request is logged at debug level.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import { ApiError, negotiateRepresentation, ObjectFilter, partialObjectMetadata, queryFlag, statusErrors, successStatus, type Representation } from '../../protocol/kube/index.js';
import { APPLY_PATCH_TYPE, applyForce, fieldManagerOf, parseApplyBody } from './apply/request.js';
import { forbiddenReason, type Authenticator, type Authorizer } from './authorization.js';
import { mediaTypeOf, parseJson, parseObjectBody, readBody } from './content.js';
import type { Discovery } from './discovery.js';
import { metadataOf } from './objects.js';
import { patchTypeOf } from './patch.js';
import type { ListResult, ObjectRegistry } from './registry.js';
import { checkReadableAt, readOptionsOf } from './read-options.js';
import { SelfReviews } from './reviews.js';
import { resolveRequestInfo, type RequestInfo, type ResourceRequestInfo } from './request-info.js';
import { filterOf, listLimit, parseDryRun, readDeleteOptions, watchTimeoutMs } from './request-params.js';
import { parseFieldValidation } from './schema/decode.js';
import { apiVersionOf, resourceKey, type ResourceCatalog, type ResourceDefinition } from './resources.js';
import { listText, sendJson, sendRawJson, withoutTypeMeta } from './responses.js';
import { notServedError, serveSubresource, servesSubresource } from './subresources.js';
import type { PodStreams } from './pod-streams.js';
import { METRICS_GROUP, type MetricsApi } from './metrics-api.js';
import { writeError } from '../streams/http-forward.js';
import type { TableConverter } from './tables.js';
import type { WatchFanout } from './watch-fanout.js';
import { WatchStream } from './watch-stream.js';

export interface ApiRequestHandlerDependencies {
  catalog: ResourceCatalog;
  registry: ObjectRegistry;
  discovery: Discovery;
  tables: TableConverter;
  fanout: WatchFanout;
  authenticate: Authenticator;
  authorize: Authorizer;
  logger: Logger;
  maxBodyBytes: number;
  bookmarkIntervalMs: number;
  /** Output a watch may have waiting for a slow client before it is closed. */
  maxWatchBufferBytes: number;
  /** host:port clients reach the server at (for /api's serverAddressByClientCIDRs). */
  serverAddress: () => string;
  /** pods/log, exec, attach, portforward through the kubelet endpoint (pod-streams.ts); without it they are 405. */
  podStreams?: PodStreams;
}

/** Paths answered without credentials, so probes need no token. */
const PROBE_PATHS = new Set(['/healthz', '/livez', '/readyz']);

interface ResourceTarget {
  def: ResourceDefinition;
  /** '' for cluster-scoped kinds and for all-namespaces requests. */
  namespace: string;
  name: string;
  subresource: string;
}

export class ApiRequestHandler {
  private readonly deps: ApiRequestHandlerDependencies & { podStreams?: PodStreams };
  private readonly watches = new Set<WatchStream>();

  private readonly reviews: SelfReviews;

  /** Serves pods/log, exec, attach and portforward (pod-streams.ts) and metrics.k8s.io (metrics-api.ts) from now on. */
  setPodStreams(streams: PodStreams, metrics: MetricsApi): void {
    this.deps.podStreams = streams;
    this.metrics = metrics;
  }

  private metrics?: MetricsApi;

  constructor(deps: ApiRequestHandlerDependencies) {
    this.deps = deps;
    this.reviews = new SelfReviews(deps.authorize, deps.maxBodyBytes, deps.authenticate);
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** Ends every open watch (clients re-watch from their last resourceVersion). */
  closeWatches(): void {
    for (const watch of [...this.watches]) watch.end('server closing');
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    let info: RequestInfo | undefined;
    if (this.deps.logger.isLevelEnabled('debug')) {
      const started = performance.now();
      res.on('finish', () => {
        this.deps.logger.debug(
          { method: req.method, path: req.url, status: res.statusCode, ms: Math.round((performance.now() - started) * 10) / 10, verb: info?.verb, resource: info?.isResourceRequest ? info.resource : undefined },
          'request',
        );
      });
    }
    void (async () => {
      const url = new URL(req.url ?? '/', 'https://embedded.invalid');
      if (PROBE_PATHS.has(url.pathname) && (req.method === 'GET' || req.method === 'HEAD')) {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
        return;
      }
      const user = this.deps.authenticate(bearerToken(req));
      if (!user) throw statusErrors.unauthorized();
      try {
        info = resolveRequestInfo(req.method ?? 'GET', url.pathname, url.searchParams);
      } catch {
        throw statusErrors.badRequest(`malformed path ${JSON.stringify(url.pathname)}`);
      }
      if (this.reviews.handles(info)) return this.reviews.serve(req, res, info, user);
      const decision = await this.deps.authorize({ user, request: info });
      if (!decision.allowed) {
        const why = forbiddenReason(user, info, decision.reason);
        if (info.isResourceRequest) throw statusErrors.forbidden({ group: info.apiGroup, resource: info.resource }, info.name, why);
        throw new ApiError(403, 'Forbidden', `forbidden: ${why}`, {});
      }
      if (this.reviews.handlesDelegated(info)) await this.reviews.serve(req, res, info, user);
      else if (info.isResourceRequest && info.apiGroup === METRICS_GROUP && this.metrics) await this.metrics.serve(req, res, info.resource, info.namespace, info.name);
      else if (info.isResourceRequest) await this.serveResource(req, res, info, url.searchParams);
      else this.serveNonResource(req, res, url.pathname);
    })().catch((err: unknown) => this.sendError(req, res, err));
  }

  /** An upgrade request (exec, attach, port-forward): authenticated and authorised like any other, then piped to the kubelet endpoint. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    void (async () => {
      const url = new URL(req.url ?? '/', 'https://embedded.invalid');
      const user = this.deps.authenticate(bearerToken(req));
      if (!user) throw statusErrors.unauthorized();
      let info: RequestInfo;
      try {
        info = resolveRequestInfo(req.method ?? 'GET', url.pathname, url.searchParams);
      } catch {
        throw statusErrors.badRequest(`malformed path ${JSON.stringify(url.pathname)}`);
      }
      if (!info.isResourceRequest) throw statusErrors.badRequest('only pods/exec, pods/attach and pods/portforward can be upgraded');
      const decision = await this.deps.authorize({ user, request: info });
      if (!decision.allowed) throw statusErrors.forbidden({ group: info.apiGroup, resource: info.resource }, info.name, forbiddenReason(user, info, decision.reason));
      // Without a kubelet endpoint this is the 405 naming the subresource (subresources.ts).
      const target = this.target(info);
      if (!this.deps.podStreams?.serves(target.def, target.subresource) || target.name === '') throw statusErrors.badRequest('only pods/exec, pods/attach and pods/portforward can be upgraded');
      this.deps.podStreams.upgrade(req, socket, head, target.def, target.namespace, target.name, target.subresource, url.searchParams);
    })().catch((err: unknown) => {
      const answer = err instanceof ApiError ? err : statusErrors.internal(err instanceof Error ? err.message : String(err));
      if (!(err instanceof ApiError)) this.deps.logger.error({ err, path: req.url }, 'upgrade failed');
      writeError(socket, answer.code, JSON.stringify(answer.toStatus()), 'application/json');
    });
  }

  // -------------------------------------------------------------------------------------------
  // Discovery and other non-resource paths

  private serveNonResource(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
    const body = this.deps.discovery.document(pathname, this.deps.serverAddress(), req.headers.accept);
    if (body === undefined) throw statusErrors.routeNotFound();
    if (typeof body === 'string') sendRawJson(res, 200, body);
    else sendJson(res, 200, body);
  }

  // -------------------------------------------------------------------------------------------
  // Resources

  private target(info: ResourceRequestInfo): ResourceTarget {
    const def = this.deps.catalog.find(info.apiGroup, info.apiVersion, info.resource);
    if (!def) throw statusErrors.routeNotFound();
    const subresource = info.subresource;
    // request-info puts a namespace's own name in `namespace` too, as kube does.
    const namespace = def.kind === 'Namespace' ? '' : info.namespace;
    if (!def.namespaced && namespace !== '') throw statusErrors.routeNotFound();
    const streamed = this.deps.podStreams?.serves(def, subresource) ?? false;
    if (subresource !== '' && info.name !== '' && !(subresource === 'status' && def.statusSubresource) && !servesSubresource(def, subresource) && !streamed) {
      const notServed = notServedError(def, subresource);
      if (notServed) {
        // A missing object is still a 404, as kube answers before it looks at the subresource.
        this.deps.registry.get(def, namespace, info.name);
        throw notServed;
      }
      throw statusErrors.routeNotFound();
    }
    return { def, namespace, name: info.name, subresource };
  }

  private async serveResource(req: IncomingMessage, res: ServerResponse, info: ResourceRequestInfo, query: URLSearchParams): Promise<void> {
    const target = this.target(info);
    const { def, namespace, name, subresource } = target;
    const { registry } = this.deps;
    const method = req.method ?? 'GET';
    const dryRun = parseDryRun(query);
    const gr = { group: def.group, resource: def.resource };
    // Writes: unknown fields per `fieldValidation`; Warn's warnings become Warning headers.
    const warnings: string[] = [];
    const writing = method === 'POST' || method === 'PUT' || method === 'PATCH';
    const isApply = method === 'PATCH' && mediaTypeOf(req.headers['content-type']) === APPLY_PATCH_TYPE;
    const write = { dryRun, fieldValidation: writing ? parseFieldValidation(query) : 'Warn', warnings, manager: writing ? fieldManagerOf(req, query, isApply) : '' } as const;
    const force = method === 'PATCH' && applyForce(query, isApply);

    if (name === '') {
      if (subresource !== '') throw statusErrors.routeNotFound();
      const allNamespaces = def.namespaced && namespace === '';
      switch (method) {
        case 'GET':
        case 'HEAD': {
          const filter = filterOf(def, def.namespaced && !allNamespaces ? namespace : undefined, query);
          const representation = negotiateRepresentation(req.headers.accept, query.get('includeObject'));
          const readOptions = readOptionsOf(query, info.verb === 'watch' ? 'watch' : 'list');
          if (info.verb === 'watch') return this.serveWatch(res, def, filter, query, representation);
          checkReadableAt(readOptions, registry.currentRv);
          return this.serveList(res, def, filter, query, representation);
        }
        case 'POST': {
          if (allNamespaces) throw statusErrors.methodNotSupported(gr, 'create');
          const body = parseObjectBody(await readBody(req, this.deps.maxBodyBytes), req.headers['content-type']);
          const created = registry.create(def, namespace, body, write);
          await registry.whenDurable();
          return this.sendObject(req, res, 201, def, created, query, warnings);
        }
        case 'DELETE': {
          const request = await readDeleteOptions(req, query, this.deps.maxBodyBytes);
          const filter = filterOf(def, def.namespaced && !allNamespaces ? namespace : undefined, query);
          const items = registry.deleteCollection(def, filter, request);
          await registry.whenDurable();
          return sendJson(res, 200, { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: {}, items: items.map(withoutTypeMeta) });
        }
        default:
          throw statusErrors.methodNotSupported(gr, method.toLowerCase());
      }
    }

    if (def.namespaced && namespace === '') throw statusErrors.routeNotFound();

    if (this.deps.podStreams?.serves(def, subresource)) return this.deps.podStreams.serve(req, res, def, namespace, name, subresource, query);
    if (servesSubresource(def, subresource)) return serveSubresource({ req, res, registry, maxBodyBytes: this.deps.maxBodyBytes, def, namespace, name, subresource, query });

    const statusOnly = subresource === 'status' ? ({ subresource: 'status' } as const) : {};
    switch (method) {
      case 'GET':
      case 'HEAD': {
        if (info.verb === 'watch' && subresource === '') {
          // A watch on one object is a watch on the collection narrowed to its name, as in kube.
          readOptionsOf(query, 'watch');
          const filter = ObjectFilter.named(def.namespaced ? namespace : undefined, name);
          return this.serveWatch(res, def, filter, query, negotiateRepresentation(req.headers.accept, query.get('includeObject')));
        }
        registry.flush();
        checkReadableAt(readOptionsOf(query, 'get'), registry.currentRv);
        return this.sendObject(req, res, 200, def, registry.get(def, namespace, name), query);
      }
      case 'PUT': {
        const body = parseObjectBody(await readBody(req, this.deps.maxBodyBytes), req.headers['content-type']);
        const { object, created } = registry.update(def, namespace, name, body, { ...write, ...statusOnly });
        await registry.whenDurable();
        return this.sendObject(req, res, created ? 201 : 200, def, object, query, warnings);
      }
      case 'PATCH': {
        if (isApply) {
          const { object, created } = registry.apply(def, namespace, name, parseApplyBody(await readBody(req, this.deps.maxBodyBytes)), { ...write, ...statusOnly, force });
          await registry.whenDurable();
          return this.sendObject(req, res, created ? 201 : 200, def, object, query, warnings);
        }
        const patchType = patchTypeOf(req.headers['content-type']);
        const patch = parseJson((await readBody(req, this.deps.maxBodyBytes)).toString('utf8'));
        const object = registry.patch(def, namespace, name, patchType, patch, { ...write, ...statusOnly });
        await registry.whenDurable();
        return this.sendObject(req, res, 200, def, object, query, warnings);
      }
      case 'DELETE': {
        if (subresource !== '') throw statusErrors.methodNotSupported(gr, 'delete');
        const request = await readDeleteOptions(req, query, this.deps.maxBodyBytes);
        const result = registry.delete(def, namespace, name, { ...request, dryRun: request.dryRun || dryRun });
        await registry.whenDurable();
        if (def.returnDeletedObject || !result.gone) return this.sendObject(req, res, 200, def, result.object, query);
        return sendJson(res, 200, successStatus(gr, name, metadataOf(result.object).uid as string | undefined));
      }
      default:
        throw statusErrors.methodNotSupported(gr, method.toLowerCase());
    }
  }

  private serveList(res: ServerResponse, def: ResourceDefinition, filter: ObjectFilter, query: URLSearchParams, representation: Representation): void {
    // An informer's list (the hub's restart reads every object): spliced from the stored texts.
    if (representation.as === 'object' && filter.selectsOnNamespaceOnly) {
      const page = this.deps.registry.listBodies(def, filter, listLimit(query), query.get('continue') || undefined);
      return sendRawJson(res, 200, listText({ kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: listMetadata(page) }, page.items, apiVersionOf(def), def.kind));
    }
    const result = this.deps.registry.list(def, filter, listLimit(query), query.get('continue') || undefined);
    if (representation.as === 'table') {
      const options = { includeObject: representation.includeObject, withColumns: true, apiVersion: representation.apiVersion, resourceVersion: result.resourceVersion, ...(result.continueToken ? { continueToken: result.continueToken } : {}) };
      return sendJson(res, 200, this.deps.tables.table(def, result.items, options));
    }
    const metadata = listMetadata(result);
    if (representation.as === 'metadata') {
      return sendJson(res, 200, {
        kind: 'PartialObjectMetadataList',
        apiVersion: representation.apiVersion,
        metadata,
        items: result.items.map((item) => partialObjectMetadata(item, representation.apiVersion)),
      });
    }
    // Items of a list carry no kind/apiVersion, as kube-apiserver encodes typed lists.
    sendJson(res, 200, { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata, items: result.items.map(withoutTypeMeta) });
  }

  private serveWatch(res: ServerResponse, def: ResourceDefinition, filter: ObjectFilter, query: URLSearchParams, representation: Representation): void {
    const { registry, fanout } = this.deps;
    const timeoutMs = watchTimeoutMs(query);
    const sendInitialEvents = queryFlag(query, 'sendInitialEvents') === true;
    // Everything from here to subscribe() runs in one tick: no change can fall between the
    // history (or current state) replayed and the live stream.
    const start = registry.watchStart(def, filter, query.get('resourceVersion') ?? '', sendInitialEvents);
    let unsubscribe: (() => void) | undefined;
    const stream = new WatchStream({
      response: res,
      def,
      filter,
      representation,
      tables: this.deps.tables,
      currentRv: () => registry.currentRv,
      allowBookmarks: queryFlag(query, 'allowWatchBookmarks') ?? false,
      bookmarkIntervalMs: this.deps.bookmarkIntervalMs,
      timeoutMs,
      maxBufferedBytes: this.deps.maxWatchBufferBytes,
      logger: this.deps.logger,
      onClose: () => {
        unsubscribe?.();
        this.watches.delete(stream);
      },
    });
    this.watches.add(stream);
    this.deps.logger.debug({ resource: resourceKey(def), namespace: filter.namespace, resourceVersion: query.get('resourceVersion') ?? '' }, 'watch opened');
    if ('expired' in start) {
      stream.fail(statusErrors.expired(start.expired).toStatus());
      return;
    }
    stream.deliver(start.initial);
    if (sendInitialEvents) stream.sendInitialEventsEnd(registry.currentRv);
    if (!stream.isClosed) unsubscribe = fanout.subscribe(resourceKey(def), (changes) => stream.deliver(changes));
  }

  /** One object, or its Table / PartialObjectMetadata when the client asked for that. */
  private sendObject(req: IncomingMessage, res: ServerResponse, code: number, def: ResourceDefinition, obj: JsonObject, query: URLSearchParams, warnings: string[] = []): void {
    // kube's warning header: `299 - "text"`, one per warning (joined, as HTTP allows).
    if (warnings.length > 0) res.setHeader('Warning', warnings.map((text) => `299 - ${JSON.stringify(text)}`));
    const representation = negotiateRepresentation(req.headers.accept, query.get('includeObject'));
    if (representation.as === 'table') {
      const rv = metadataOf(obj).resourceVersion;
      return sendJson(res, code, this.deps.tables.table(def, [obj], { includeObject: representation.includeObject, withColumns: true, apiVersion: representation.apiVersion, ...(typeof rv === 'string' ? { resourceVersion: rv } : {}) }));
    }
    if (representation.as === 'metadata') return sendJson(res, code, partialObjectMetadata(obj, representation.apiVersion));
    // A write's answer is the text it committed, not serialised a second time.
    sendRawJson(res, code, this.deps.registry.committedBody(obj) ?? JSON.stringify(obj));
  }

  private sendError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const apiError = err instanceof ApiError ? err : undefined;
    if (!apiError) this.deps.logger.error({ err, method: req.method, path: req.url }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const answer = apiError ?? statusErrors.internal(err instanceof Error ? err.message : String(err));
    const headers: Record<string, string> = {};
    if (answer.details?.retryAfterSeconds !== undefined) headers['Retry-After'] = String(answer.details.retryAfterSeconds);
    // A body we did not read would otherwise be parsed as the next request on this connection.
    if (!req.complete) headers.Connection = 'close';
    sendJson(res, answer.code, answer.toStatus(), headers);
  }
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** A list's metadata: its resourceVersion, and where a paged list goes on. */
function listMetadata(page: ListResult<unknown>): JsonObject {
  const metadata: JsonObject = { resourceVersion: page.resourceVersion };
  if (page.continueToken) metadata.continue = page.continueToken;
  if (page.remainingItemCount !== undefined) metadata.remainingItemCount = page.remainingItemCount;
  return metadata;
}

/**
 * One open watch: newline-delimited JSON watch events on an HTTP response, as kube-apiserver
 * streams them (`{"type":"ADDED","object":{...}}\n`), with
 *
 * - the events a selector implies: an object that starts matching arrives as ADDED, one that
 *   stops matching as DELETED carrying its previous state (the one that matched) with the
 *   change's resourceVersion, as kube's watch cache sends it;
 * - BOOKMARK events every `bookmarkIntervalMs` when the client allowed them, carrying the
 *   newest resourceVersion (every change up to it has been sent to this watch);
 * - the stream ended after `timeoutSeconds`, or when the client reads too slowly to keep up
 *   (the client re-watches from the last resourceVersion it saw, as after any disconnect);
 * - Table or PartialObjectMetadata objects instead of full ones when the client asked for them
 *   (kubectl get -w), column definitions on the first event only, as kube sends them.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import { partialObjectMetadata, type ObjectFilter, type Representation } from '../../protocol/kube/index.js';
import type { ChangeType, CommittedChange } from './sqlite-storage.js';
import { apiVersionOf, type ResourceDefinition } from './resources.js';
import type { TableConverter } from './tables.js';

export type WatchEventType = ChangeType | 'BOOKMARK' | 'ERROR';

export interface WatchStreamOptions {
  response: ServerResponse;
  def: ResourceDefinition;
  filter: ObjectFilter;
  representation: Representation;
  tables: TableConverter;
  /** The newest resourceVersion, for bookmarks. */
  currentRv: () => number;
  allowBookmarks: boolean;
  bookmarkIntervalMs: number;
  /** End the stream after this long (timeoutSeconds, or the server's default). */
  timeoutMs: number;
  /** End the stream when this much output waits for a slow client. */
  maxBufferedBytes: number;
  logger: Logger;
  onClose: () => void;
}

/** A change's object as one watch sees it: the type may differ from the change's when a selector is involved. */
interface Delivery {
  type: ChangeType;
  change: CommittedChange;
}

export class WatchStream {
  private closed = false;
  private sentColumns = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly options: WatchStreamOptions;
  private events = 0;

  constructor(options: WatchStreamOptions) {
    this.options = options;
    const { response } = options;
    response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    // Clients (client-node's Watch) wait for the status line before reading events.
    response.flushHeaders();
    response.on('close', () => this.close('client closed'));
    if (options.allowBookmarks && options.bookmarkIntervalMs > 0) {
      const timer = setInterval(() => this.sendBookmark(), options.bookmarkIntervalMs);
      timer.unref();
      this.timers.push(timer);
    }
    const timeout = setTimeout(() => this.end('timeout'), options.timeoutMs);
    timeout.unref();
    this.timers.push(timeout);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends the changes this watch's filter lets through (or implies: an object entering or
   * leaving a selector is ADDED or DELETED), as one chunk. Used for the initial events too.
   */
  deliver(changes: readonly CommittedChange[]): void {
    if (this.closed || changes.length === 0) return;
    const lines: string[] = [];
    for (const change of changes) {
      const delivery = this.deliveryOf(change);
      if (delivery) lines.push(this.encode(delivery.type, delivery.change.object, delivery.change.body));
    }
    if (lines.length > 0) this.write(lines.join(''));
  }

  /** The BOOKMARK that ends the initial events of a `sendInitialEvents=true` watch. */
  sendInitialEventsEnd(rv: number): void {
    this.write(this.bookmarkLine(rv, { 'k8s.io/initial-events-end': 'true' }));
  }

  /** An ERROR event with a Status, then the end of the stream (kube's way to say 410 Gone on a watch). */
  fail(status: JsonObject): void {
    if (this.closed) return;
    this.write(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
    this.end('error event');
  }

  private deliveryOf(change: CommittedChange): Delivery | undefined {
    const { filter } = this.options;
    if (filter.namespace !== undefined && change.namespace !== filter.namespace) return undefined;
    if (filter.selectsOnNamespaceOnly) return { type: change.type, change };
    const now = filter.matches(change.object, change.namespace);
    if (change.type !== 'MODIFIED' || change.prev === undefined) return now ? { type: change.type, change } : undefined;
    const before = filter.matches(change.prev, change.namespace);
    if (now && before) return { type: 'MODIFIED', change };
    if (now) return { type: 'ADDED', change };
    if (before) {
      // kube's cacher: "a delete event with the previous object content, but with the event's resource version".
      const object = structuredClone(change.prev);
      const meta = (object.metadata ?? {}) as JsonObject;
      meta.resourceVersion = String(change.rv);
      object.metadata = meta;
      return { type: 'DELETED', change: { ...change, object, body: JSON.stringify(object) } };
    }
    return undefined;
  }

  private encode(type: WatchEventType, object: JsonObject, body: string): string {
    const { representation, def } = this.options;
    if (representation.as === 'object') return `{"type":"${type}","object":${body}}\n`;
    if (representation.as === 'metadata') return `${JSON.stringify({ type, object: partialObjectMetadata(object, representation.apiVersion) })}\n`;
    const table = this.options.tables.table(def, [object], {
      includeObject: representation.includeObject,
      withColumns: !this.sentColumns,
      apiVersion: representation.apiVersion,
      resourceVersion: String((object.metadata as JsonObject | undefined)?.resourceVersion ?? ''),
    });
    this.sentColumns = true;
    return `${JSON.stringify({ type, object: table })}\n`;
  }

  private bookmarkLine(rv: number, annotations?: Record<string, string>): string {
    const { def } = this.options;
    const metadata: JsonObject = { resourceVersion: String(rv) };
    if (annotations) metadata.annotations = annotations;
    return `${JSON.stringify({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: apiVersionOf(def), metadata } })}\n`;
  }

  private sendBookmark(): void {
    if (this.closed) return;
    this.write(this.bookmarkLine(this.options.currentRv()));
  }

  private write(text: string): void {
    if (this.closed) return;
    this.events++;
    this.options.response.write(text);
    if (this.options.response.writableLength > this.options.maxBufferedBytes) {
      this.options.logger.warn({ resource: this.options.def.resource, buffered: this.options.response.writableLength }, 'watch client too slow; closing its watch');
      this.end('slow client');
    }
  }

  /** Ends the stream cleanly (the client re-watches). */
  end(why: string): void {
    if (this.closed) return;
    this.options.response.end();
    this.close(why);
  }

  private close(why: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.options.logger.debug({ resource: this.options.def.resource, why, writes: this.events }, 'watch closed');
    this.options.onClose();
  }
}

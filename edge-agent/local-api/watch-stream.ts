/**
 * One open watch on an HTTP response.
 *
 * The watch keeps a cursor, the seq up to which the client has everything. When woken (the
 * cache committed a batch) it reads `changesSince(cursor)` and moves the cursor to the seq it
 * read at. Because the cache, not a queue of notifications, is the source of the events, a
 * change can be neither missed (anything after the cursor is read) nor sent twice (nothing at
 * or before it is), however the wake-ups fall. It also gives flow control for free: while the
 * client is not reading (the socket's buffer is full) the watch reads nothing and the changes
 * pile up in the cache, where a key changed ten times is one row; when the client catches up
 * it gets each key's latest state. A watch therefore never buffers without bound.
 *
 * `sent` holds the last object the client was given for each key it currently has. It makes
 * selector transitions right (an object that stops matching arrives as DELETED, one that
 * starts as ADDED, as kube-apiserver does) and lets DELETED carry the object's last state, which
 * the cache no longer has after a deletion (tombstones keep only the key). Its cost is one copy
 * of the selected objects per watch, which on an edge node is small.
 *
 * Resuming from resourceVersion N: objects last written at or before N are what the client
 * had at N, so they seed `sent`; keys changed after N are ones whose state at N is unknown, so
 * their first event is MODIFIED (not ADDED) when it matches, and DELETED, possibly for an
 * object the client never had, when it no longer does. A surplus DELETED is harmless to
 * informers (they ignore deletions of keys they do not hold); a missing one would leave a ghost.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import { failureStatus } from '../../protocol/kube/index.js';
import type { LocalChange } from '../store/index.js';
import type { ObjectFilter } from './object-filter.js';
import type { ObjectPresenter } from './presenter.js';
import type { ResourceInfo } from './resources.js';
import type { LocalReadModel } from './read-model.js';
import type { WatchEventEncoder } from './watch-events.js';

/** Where a watch begins. */
export type WatchStart =
  /** resourceVersion "" or "0": the current objects (as ADDED unless `initialEvents` is false), then changes. */
  | { from: 'now'; initialEvents: boolean; initialEventsEndBookmark: boolean }
  /** resourceVersion N: every change after N. */
  | { from: 'seq'; seq: number };

export interface WatchStreamOptions {
  readModel: LocalReadModel;
  info: ResourceInfo;
  filter: ObjectFilter;
  presenter: ObjectPresenter;
  encoder: WatchEventEncoder;
  response: ServerResponse;
  /** Send a BOOKMARK every `bookmarkIntervalMs` (the client sent allowWatchBookmarks). */
  allowBookmarks: boolean;
  bookmarkIntervalMs: number;
  /** End the stream after this long (timeoutSeconds); undefined: when the client or the server closes. */
  timeoutMs: number | undefined;
  logger: Logger;
  onClose: (watch: WatchStream) => void;
}

export class WatchStream {
  private cursor = 0;
  private readonly sent = new Map<string, JsonObject>();
  private closed = false;
  /** A drain is queued (setImmediate). */
  private scheduled = false;
  /** The response's buffer is full: read nothing more until it drains. */
  private blocked = false;
  /** Woken while blocked: drain once the client catches up. */
  private pending = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: WatchStreamOptions) {}

  get kind(): string {
    return this.options.info.kind;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends the headers and the first events. Runs synchronously, so nothing can change between reading the start state and following changes. */
  start(start: WatchStart): void {
    const { response, logger, info } = this.options;
    response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    // Some clients (client-node's Watch) act on the status line before the first event.
    response.flushHeaders();
    response.on('close', () => this.close('client closed'));
    response.on('drain', () => {
      this.blocked = false;
      if (this.pending) this.schedule();
    });

    try {
      if (start.from === 'seq') this.resume(start.seq);
      else this.beginNow(start.initialEvents, start.initialEventsEndBookmark);
    } catch (err) {
      logger.error({ err, resource: info.resource }, 'local API watch could not read the cache');
      this.end('cache error');
      return;
    }
    if (this.closed) return;

    if (this.options.allowBookmarks && this.options.bookmarkIntervalMs > 0) {
      const timer = setInterval(() => this.sendBookmark(), this.options.bookmarkIntervalMs);
      timer.unref();
      this.timers.push(timer);
    }
    if (this.options.timeoutMs !== undefined) {
      const timer = setTimeout(() => this.end('timeout'), this.options.timeoutMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  /** The cache committed changes of this watch's kind. Cheap and re-entrant: the work runs later, once. */
  wake(): void {
    if (this.closed) return;
    this.pending = true;
    this.schedule();
  }

  /** Ends the stream cleanly; the client re-watches from the last resourceVersion it saw. */
  end(why: string): void {
    if (this.closed) return;
    this.options.response.end();
    this.close(why);
  }

  private beginNow(initialEvents: boolean, endBookmark: boolean): void {
    const { readModel, info, filter, presenter, encoder } = this.options;
    const listed = readModel.list(info.kind, filter.namespace);
    const lines: string[] = [];
    for (const item of listed.items) {
      const served = presenter.present(info, item.key, item.seq, item.obj);
      if (!filter.matches(item.key, served)) continue;
      this.sent.set(item.key, served);
      if (initialEvents) lines.push(encoder.change('ADDED', served));
    }
    this.cursor = listed.seq;
    if (endBookmark) lines.push(encoder.bookmark(this.cursor, { 'k8s.io/initial-events-end': 'true' }));
    this.write(lines);
  }

  private resume(since: number): void {
    const { readModel, info, filter, presenter } = this.options;
    const result = readModel.changesSince(since, info.kind);
    if (result.gone) {
      this.fail(since, result.seq);
      return;
    }
    // Read right after changesSince with no await in between, so both see the same cache.
    const listed = readModel.list(info.kind, filter.namespace);
    for (const item of listed.items) {
      if (item.seq > since) continue;
      const served = presenter.present(info, item.key, item.seq, item.obj);
      if (filter.matches(item.key, served)) this.sent.set(item.key, served);
    }
    const unknownAtStart = new Set(result.changes.map((change) => change.key));
    const lines = this.eventsFor(result.changes, unknownAtStart);
    this.cursor = result.seq;
    this.write(lines);
  }

  private schedule(): void {
    if (this.scheduled || this.closed || this.blocked) return;
    this.scheduled = true;
    // Not inside the cache's onChange call: that runs in the middle of the link's apply.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Sends what changed after the cursor. */
  private drain(): void {
    if (this.closed) return;
    if (this.blocked) {
      this.pending = true;
      return;
    }
    this.pending = false;
    const { readModel, info, logger } = this.options;
    let result;
    try {
      result = readModel.changesSince(this.cursor, info.kind);
    } catch (err) {
      logger.error({ err, resource: info.resource }, 'local API watch could not read the cache');
      this.end('cache error');
      return;
    }
    if (result.gone) {
      // Compacted past the cursor while this client lagged: it must relist.
      this.fail(this.cursor, result.seq);
      return;
    }
    const lines = this.eventsFor(result.changes);
    this.cursor = result.seq;
    this.write(lines);
  }

  /** The events `changes` mean for this client; `unknownAtStart` lists keys whose state the client had is unknown (resume). */
  private eventsFor(changes: readonly LocalChange[], unknownAtStart?: Set<string>): string[] {
    const { info, filter, presenter, encoder } = this.options;
    const lines: string[] = [];
    for (const change of changes) {
      if (!filter.matchesKey(change.key)) continue;
      const had = this.sent.get(change.key);
      // Only a key's first change is unknown: after it the client's state is what this watch sent.
      const unknown = unknownAtStart?.delete(change.key) ?? false;
      if (change.type === 'put') {
        const served = presenter.present(info, change.key, change.seq, change.obj);
        if (filter.matches(change.key, served)) {
          this.sent.set(change.key, served);
          lines.push(encoder.change(had || unknown ? 'MODIFIED' : 'ADDED', served));
        } else if (had) {
          // Stopped matching: kube sends DELETED with the last state the client saw, at the new resourceVersion.
          this.sent.delete(change.key);
          lines.push(encoder.change('DELETED', presenter.atResourceVersion(had, change.seq)));
        } else if (unknown) {
          lines.push(encoder.change('DELETED', served));
        }
        continue;
      }
      if (had) {
        this.sent.delete(change.key);
        lines.push(encoder.change('DELETED', presenter.atResourceVersion(had, change.seq)));
      } else if (unknown) {
        lines.push(encoder.change('DELETED', presenter.deletedStub(info, change.key, change.seq)));
      }
    }
    return lines;
  }

  private sendBookmark(): void {
    if (this.closed || this.blocked) return;
    // Catch up first, so the bookmark's resourceVersion is as new as it can truthfully be.
    this.drain();
    if (this.closed || this.blocked) return;
    this.write([this.options.encoder.bookmark(this.cursor)]);
  }

  /** 410 Gone, the Kubernetes way on a watch: an ERROR event with an Expired Status, then the end. */
  private fail(since: number, current: number): void {
    const message =
      since > current
        ? `resource version ${since} is newer than this cache's (${current}); the agent's cache was replaced, list again`
        : `too old resource version: ${since} (${current})`;
    this.write([this.options.encoder.error(failureStatus(410, 'Expired', message))]);
    this.end('expired');
  }

  private write(lines: readonly string[]): void {
    if (this.closed || lines.length === 0) return;
    if (!this.options.response.write(lines.join(''))) this.blocked = true;
  }

  private close(why: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.options.logger.debug({ resource: this.options.info.resource, why, resourceVersion: this.cursor }, 'local API watch closed');
    this.options.onClose(this);
  }
}

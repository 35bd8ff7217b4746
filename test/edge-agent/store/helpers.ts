/** Shared pieces of the store tests: objects with real content versions, a captured pino logger, store directories. */
import { pino, type Logger } from 'pino';
import { contentVersion, type JsonObject, type SyncOp } from '../../../protocol/index.js';
import { openCacheStore, type ApplyResult, type CacheChange, type CacheStore, type OpenCacheStoreOptions } from '../../../edge-agent/store/index.js';
import { makeTempDir } from '../../helpers/tmp.js';

export interface CapturedLog {
  logger: Logger;
  lines: Array<Record<string, unknown> & { level: number; msg: string }>;
}

/** A real pino logger whose JSON lines land in `lines`. */
export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

export function configMap(name: string, data: Record<string, string>, namespace = 'default'): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

export function secret(name: string, data: Record<string, string>, namespace = 'default'): JsonObject {
  const encoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) encoded[k] = Buffer.from(v).toString('base64');
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data: encoded };
}

export function pod(name: string, image = 'registry.example/app:1.0', namespace = 'default'): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: name } },
    spec: { nodeName: 'edge-1', containers: [{ name: 'main', image, env: [{ name: 'MODE', value: 'edge' }] }] },
  };
}

/** A change without its kind (the tables of expected changes leave it out; 'every change names its kind' checks it). */
export type PlainChange = Omit<CacheChange, 'kind'>;

/**
 * A change as a plain object, read field by field: the SQLite cache's replacing puts carry
 * `previous` as an accessor (decoded on first read), which structural equality does not see.
 */
export function plainChange(change: CacheChange): PlainChange {
  const plain: PlainChange = { type: change.type, key: change.key };
  if (change.rv !== undefined) plain.rv = change.rv;
  if (change.obj !== undefined) plain.obj = change.obj;
  const previous = change.previous;
  if (previous !== undefined) plain.previous = previous;
  return plain;
}

export function plainResult(result: ApplyResult): Omit<ApplyResult, 'changes'> & { changes: PlainChange[] } {
  return { changes: result.changes.map(plainChange), needs: result.needs, skipped: result.skipped, refused: result.refused };
}

/** `put` of `obj` under `key` at its content version. */
export function put(key: string, obj: JsonObject): SyncOp {
  return { op: 'put', key, rv: contentVersion(obj), obj };
}

export function keyFor(obj: JsonObject): string {
  const metadata = obj.metadata as JsonObject;
  return `${String(obj.kind)}/${String(metadata.namespace ?? '')}/${String(metadata.name)}`;
}

/** A store in a fresh temp dir, with a captured log; `reopen` closes and opens the same dir. */
export class StoreDir {
  readonly tmp = makeTempDir('edge-store-');
  readonly log = captureLog();
  store: CacheStore;

  constructor(private readonly options: Partial<OpenCacheStoreOptions> = {}) {
    this.store = this.open();
  }

  get path(): string {
    return this.tmp.path;
  }

  open(extra: Partial<OpenCacheStoreOptions> = {}): CacheStore {
    return openCacheStore({ dir: this.tmp.path, logger: this.log.logger, ...this.options, ...extra });
  }

  reopen(extra: Partial<OpenCacheStoreOptions> = {}): CacheStore {
    if (this.store.db.open) this.store.close();
    this.store = this.open(extra);
    return this.store;
  }

  cleanup(): void {
    if (this.store.db.open) this.store.close();
    this.tmp.remove();
  }
}

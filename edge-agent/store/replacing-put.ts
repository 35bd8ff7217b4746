/**
 * The change for a put that replaced a stored object in the SQLite cache. Its `previous` is
 * decoded from the body read before the write, on first access only: decoding every replaced
 * body (JSON.parse, and decryption for Secrets) measured as 40% of the CPU of a 1,000-put
 * batch (~59,000 -> ~35,000 ops per CPU second), and most listeners never look at it.
 *
 * `previous` is an accessor, so it is not an own property: spreading the change or
 * JSON-encoding it without `toJSON` would drop it; read it by name.
 */
import type { JsonObject } from '../../protocol/index.js';
import type { CacheChange } from './sync-cache.js';

const NOT_DECODED = Symbol('not decoded');

export class ReplacingPut implements CacheChange {
  readonly type = 'put' as const;
  #raw: string | Buffer | undefined;
  #decode: (key: string, raw: string | Buffer | undefined) => JsonObject | undefined;
  #previous: JsonObject | undefined | typeof NOT_DECODED = NOT_DECODED;

  constructor(
    readonly key: string,
    readonly kind: string,
    readonly rv: string,
    readonly obj: JsonObject,
    raw: string | Buffer | undefined,
    decode: (key: string, raw: string | Buffer | undefined) => JsonObject | undefined,
  ) {
    this.#raw = raw;
    this.#decode = decode;
  }

  get previous(): JsonObject | undefined {
    if (this.#previous === NOT_DECODED) {
      this.#previous = this.#decode(this.key, this.#raw);
      this.#raw = undefined;
    }
    return this.#previous;
  }

  toJSON(): CacheChange {
    const previous = this.previous;
    const plain: CacheChange = { type: this.type, kind: this.kind, key: this.key, rv: this.rv, obj: this.obj };
    if (previous !== undefined) plain.previous = previous;
    return plain;
  }
}

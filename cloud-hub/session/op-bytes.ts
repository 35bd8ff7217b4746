/**
 * The UTF-8 bytes of the ops many nodes are sent: a change's `patch` op, and the `put` op of a
 * ConfigMap or Secret, are one string shared by every session (the fleet view builds it once);
 * this turns each into bytes once, so a change sent to 10,000 nodes is encoded once and every
 * node's frame copies the bytes behind its own header (protocol encodeSyncBytes). Bounded: the
 * oldest entries go first, and a version no longer sent simply ages out.
 */
export class SharedOpBytes {
  private readonly bytes = new Map<string, Buffer>();

  constructor(private readonly maxEntries = 4096) {}

  get size(): number {
    return this.bytes.size;
  }

  /** The bytes of `json`, encoded on first use. */
  of(json: string): Buffer {
    let bytes = this.bytes.get(json);
    if (bytes === undefined) {
      bytes = Buffer.from(json, 'utf8');
      if (this.bytes.size >= this.maxEntries) this.bytes.delete(this.bytes.keys().next().value as string);
      this.bytes.set(json, bytes);
    }
    return bytes;
  }
}

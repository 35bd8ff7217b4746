/**
 * The node tokens the hub accepts, kept in memory from the Secret informer (it subscribes to
 * the hub's informers beside the fleet view) so a connection is authenticated without an API
 * call. Deleting a node's Secret revokes its token at once.
 */
import type { JsonObject } from '../../protocol/index.js';
import type { WatchEvent, WatchEventHandler } from '../kube/watched-kinds.js';
import { isTokenSecret, readTokenSecret, tokenMatches } from './node-tokens.js';

export class TokenStore implements WatchEventHandler {
  private readonly hashes = new Map<string, string>();
  /** Secret key (namespace/name) -> node, to resolve deletes. */
  private readonly secretNodes = new Map<string, string>();

  constructor(
    private readonly namespace: string,
    private readonly onRevoked: (node: string) => void = () => undefined,
  ) {}

  get size(): number {
    return this.hashes.size;
  }

  /** True when `secret` is a token Secret of this hub; such Secrets never reach any node. */
  owns(secret: JsonObject): boolean {
    return isTokenSecret(secret, this.namespace);
  }

  /** Keeps the token Secrets among the informers' events; every other event is not its concern. */
  apply(event: WatchEvent): void {
    if (event.kind !== 'Secret' || !this.owns(event.obj)) return;
    if (event.type === 'delete') this.delete(event.obj);
    else this.upsert(event.obj);
  }

  upsert(secret: JsonObject): void {
    const token = readTokenSecret(secret);
    if (!token) return;
    const previous = this.hashes.get(token.node);
    this.hashes.set(token.node, token.sha256);
    this.secretNodes.set(secretId(secret), token.node);
    // A new token for the node retires the old one, and any connection made with it.
    if (previous !== undefined && previous !== token.sha256) this.onRevoked(token.node);
  }

  delete(secret: JsonObject): void {
    const id = secretId(secret);
    const node = this.secretNodes.get(id);
    if (node === undefined) return;
    this.secretNodes.delete(id);
    this.hashes.delete(node);
    this.onRevoked(node);
  }

  has(node: string): boolean {
    return this.hashes.has(node);
  }

  verify(node: string, token: string | undefined): boolean {
    const hash = this.hashes.get(node);
    return hash !== undefined && token !== undefined && tokenMatches(token, hash);
  }

  /** Nodes that have a token. */
  nodes(): IterableIterator<string> {
    return this.hashes.keys();
  }
}

function secretId(secret: JsonObject): string {
  const metadata = (secret.metadata ?? {}) as { namespace?: string; name?: string };
  return `${metadata.namespace ?? ''}/${metadata.name ?? ''}`;
}

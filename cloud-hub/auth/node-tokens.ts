/**
 * Node credentials. A token is 32 random bytes (base64url); the cluster stores only its
 * SHA-256, in one Secret per node in the hub's namespace, so tokens work the same on a real
 * cluster and on the embedded API and a leaked Secret does not leak a usable credential.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { JsonObject } from '../../protocol/index.js';

export const TOKEN_LABEL = 'edge-sync.io/token';
export const TOKEN_NODE_ANNOTATION = 'edge-sync.io/node';
export const TOKEN_SECRET_TYPE = 'edge-sync.io/node-token';
const SECRET_PREFIX = 'edge-token-';

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented token with a stored hash. */
export function tokenMatches(token: string, storedHash: string): boolean {
  const presented = Buffer.from(hashToken(token), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** The Secret name for a node's token; long node names are shortened by hash to fit 253 characters. */
export function tokenSecretName(node: string): string {
  const name = `${SECRET_PREFIX}${node}`;
  return name.length <= 253 ? name : `${SECRET_PREFIX}${createHash('sha256').update(node).digest('hex').slice(0, 32)}`;
}

/** The Secret that records `node`'s token hash. */
export function tokenSecret(namespace: string, node: string, token: string, extraData: Record<string, string> = {}): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: TOKEN_SECRET_TYPE,
    metadata: {
      name: tokenSecretName(node),
      namespace,
      labels: { [TOKEN_LABEL]: 'true' },
      annotations: { [TOKEN_NODE_ANNOTATION]: node },
    },
    data: Object.fromEntries(
      Object.entries({ sha256: hashToken(token), ...extraData }).map(([name, value]) => [name, Buffer.from(value).toString('base64')]),
    ),
  };
}

/** Node name and token hash of a token Secret, or undefined if `secret` is not one. */
export function readTokenSecret(secret: JsonObject): { node: string; sha256: string; data: Record<string, string> } | undefined {
  const metadata = (secret.metadata ?? {}) as { labels?: Record<string, string>; annotations?: Record<string, string> };
  if (metadata.labels?.[TOKEN_LABEL] !== 'true') return undefined;
  const node = metadata.annotations?.[TOKEN_NODE_ANNOTATION];
  const data = (secret.data ?? {}) as Record<string, string>;
  if (!node || !data.sha256) return undefined;
  const decoded = Object.fromEntries(Object.entries(data).map(([name, value]) => [name, Buffer.from(value, 'base64').toString('utf8')]));
  return { node, sha256: decoded.sha256 as string, data: decoded };
}

/** Whether `secret` is a node token Secret of the hub in `namespace`: such Secrets never reach any node. */
export function isTokenSecret(secret: JsonObject, namespace: string): boolean {
  const metadata = (secret.metadata ?? {}) as { namespace?: string };
  return metadata.namespace === namespace && readTokenSecret(secret) !== undefined;
}

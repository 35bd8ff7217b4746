/**
 * The `continue` token of a paged list: where the next page starts (after namespace/name) and at
 * which resourceVersion the list began. Opaque to clients (base64url JSON); one that does not
 * decode is a 400, as kube answers a bad continue key.
 */
import { statusErrors } from '../../protocol/kube/index.js';

export interface ContinueToken {
  rv: number;
  namespace: string;
  name: string;
}

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'edge-sync/1', ...token })).toString('base64url');
}

export function decodeContinue(value: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof parsed.rv === 'number' && typeof parsed.namespace === 'string' && typeof parsed.name === 'string') return { rv: parsed.rv, namespace: parsed.namespace, name: parsed.name };
  } catch {
    // fall through
  }
  throw statusErrors.badRequest('continue key is not valid');
}

/**
 * The query parameters of list, get and watch requests, checked the way kube-apiserver checks
 * them. Booleans follow kube's conversion (protocol/kube/query.ts): absent is false; "0" and
 * "false" (any case) are false; anything else, even an empty value (`?watch`), is true.
 */
import { queryFlag, statusErrors } from '../../protocol/kube/index.js';

export interface RequestOptions {
  watch: boolean;
  /** As sent; "" when absent. */
  resourceVersion: string;
  resourceVersionMatch: string | undefined;
  allowWatchBookmarks: boolean;
  /** undefined when absent: its default depends on resourceVersion. */
  sendInitialEvents: boolean | undefined;
  timeoutSeconds: number | undefined;
  labelSelector: string | null;
  fieldSelector: string | null;
  includeObject: string | null;
}

export function parseRequestOptions(query: URLSearchParams): RequestOptions {
  const timeout = query.get('timeoutSeconds');
  let timeoutSeconds: number | undefined;
  if (timeout !== null && timeout !== '') {
    if (!/^\d+$/.test(timeout)) throw statusErrors.badRequest(`timeoutSeconds: invalid value ${JSON.stringify(timeout)}: must be a non-negative integer`);
    // 0 means "the server's default", which here is no timeout.
    timeoutSeconds = Number(timeout) > 0 ? Number(timeout) : undefined;
  }
  const match = query.get('resourceVersionMatch');
  if (match !== null && match !== '' && match !== 'Exact' && match !== 'NotOlderThan') {
    throw statusErrors.badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
  }
  return {
    watch: queryFlag(query, 'watch') ?? false,
    resourceVersion: query.get('resourceVersion') ?? '',
    resourceVersionMatch: match === null || match === '' ? undefined : match,
    allowWatchBookmarks: queryFlag(query, 'allowWatchBookmarks') ?? false,
    sendInitialEvents: queryFlag(query, 'sendInitialEvents'),
    timeoutSeconds,
    labelSelector: query.get('labelSelector'),
    fieldSelector: query.get('fieldSelector'),
    includeObject: query.get('includeObject'),
  };
}

/** A resourceVersion the client sent, as a seq; throws 400 when it is not one this API hands out. */
export function parseResourceVersion(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw statusErrors.badRequest(`invalid resource version ${JSON.stringify(value)}: the edge local API's resource versions are integers`);
  return Number(value);
}

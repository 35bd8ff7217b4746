/** JSON answers of the API server, with the headers kube-apiserver sends. */
import type { ServerResponse } from 'node:http';
import type { JsonObject, JsonValue } from '../../protocol/index.js';

/** A list item as kube-apiserver encodes typed lists: without kind and apiVersion. */
export function withoutTypeMeta(obj: JsonObject): JsonObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = obj;
  return rest;
}

/**
 * A list answer spliced from stored object texts (no parse, no second serialisation): each item
 * without kind and apiVersion. Texts that begin with both (what the API stores for objects
 * written with them first, as every client sends them) lose that prefix by slicing; any other is
 * parsed and serialised without them.
 */
export function listText(list: { kind: string; apiVersion: string; metadata: JsonObject }, bodies: readonly string[], itemApiVersion: string, itemKind: string): string {
  const prefixes = [`{"apiVersion":${JSON.stringify(itemApiVersion)},"kind":${JSON.stringify(itemKind)},`, `{"kind":${JSON.stringify(itemKind)},"apiVersion":${JSON.stringify(itemApiVersion)},`];
  const items = bodies.map((body) => {
    const prefix = prefixes.find((candidate) => body.startsWith(candidate));
    return prefix ? `{${body.slice(prefix.length)}` : JSON.stringify(withoutTypeMeta(JSON.parse(body) as JsonObject));
  });
  return `{"kind":${JSON.stringify(list.kind)},"apiVersion":${JSON.stringify(list.apiVersion)},"metadata":${JSON.stringify(list.metadata)},"items":[${items.join(',')}]}`;
}

export function sendJson(res: ServerResponse, code: number, body: JsonObject | JsonValue, headers: Record<string, string> = {}): void {
  sendRawJson(res, code, JSON.stringify(body), headers);
}

export function sendRawJson(res: ServerResponse, code: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private', ...headers });
  res.end(text);
}

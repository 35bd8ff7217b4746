/** JSON answers of the API server, with the headers kube-apiserver sends. */
import type { ServerResponse } from 'node:http';
import type { JsonObject, JsonValue } from '../../protocol/index.js';

/** A list item as kube-apiserver encodes typed lists: without kind and apiVersion. */
export function withoutTypeMeta(obj: JsonObject): JsonObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = obj;
  return rest;
}

export function sendJson(res: ServerResponse, code: number, body: JsonObject | JsonValue, headers: Record<string, string> = {}): void {
  sendRawJson(res, code, JSON.stringify(body), headers);
}

export function sendRawJson(res: ServerResponse, code: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private', ...headers });
  res.end(text);
}

/**
 * The query parameters and options of resource requests, read and checked as kube-apiserver
 * does (a bad one is a 400): selectors, `limit`, `timeoutSeconds`, `dryRun`, and the
 * DeleteOptions a DELETE carries in its body or query.
 */
import type { IncomingMessage } from 'node:http';
import { isJsonObject, type JsonObject } from '../../protocol/index.js';
import { ObjectFilter, SelectorError, statusErrors } from '../../protocol/kube/index.js';
import { parseObjectBody, readBody } from './content.js';
import type { DeleteRequest } from './deletion.js';
import type { ResourceDefinition } from './resources.js';

/** kube-apiserver's default watch length: between 30 and 60 minutes, spread so clients do not re-watch in step. */
const MIN_WATCH_TIMEOUT_MS = 30 * 60 * 1000;

/** The list's or watch's filter from its query; a bad selector is a 400. */
export function filterOf(def: ResourceDefinition, namespace: string | undefined, query: URLSearchParams): ObjectFilter {
  try {
    return ObjectFilter.parse(def.kind, namespace, query.get('labelSelector'), query.get('fieldSelector'));
  } catch (err) {
    if (err instanceof SelectorError) throw statusErrors.badRequest(err.message);
    throw err;
  }
}

/** `limit` of a list: undefined for all. */
export function listLimit(query: URLSearchParams): number | undefined {
  const limit = query.get('limit');
  const limitValue = limit === null || limit === '' ? undefined : Number(limit);
  if (limitValue !== undefined && (!Number.isInteger(limitValue) || limitValue < 0)) throw statusErrors.badRequest(`limit: Invalid value: "${limit}"`);
  return limitValue;
}

/** How long a watch lasts: `timeoutSeconds`, or kube's randomised default. */
export function watchTimeoutMs(query: URLSearchParams): number {
  const timeoutSeconds = query.get('timeoutSeconds');
  let timeoutMs = MIN_WATCH_TIMEOUT_MS * (1 + Math.random());
  if (timeoutSeconds !== null && timeoutSeconds !== '') {
    const seconds = Number(timeoutSeconds);
    if (!Number.isFinite(seconds) || seconds < 0) throw statusErrors.badRequest(`timeoutSeconds: Invalid value: "${timeoutSeconds}"`);
    if (seconds > 0) timeoutMs = seconds * 1000;
  }
  return timeoutMs;
}

/** `dryRun=All` (the only value kube accepts). */
export function parseDryRun(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  for (const value of values) if (value !== 'All') throw statusErrors.badRequest(`dryRun: Unsupported value: "${value}": supported values: "All"`);
  return values.length > 0;
}

/** DeleteOptions from the body (kubectl sends them there, as JSON or protobuf) or else from the query. */
export async function readDeleteOptions(req: IncomingMessage, query: URLSearchParams, maxBodyBytes: number): Promise<DeleteRequest> {
  const raw = await readBody(req, maxBodyBytes);
  let options: JsonObject = {};
  if (raw.length > 0 && raw.toString('utf8').trim() !== '') {
    const parsed = parseObjectBody(raw, req.headers['content-type'] ?? 'application/json');
    if (!isJsonObject(parsed)) throw statusErrors.badRequest('DeleteOptions must be a JSON object');
    options = parsed;
  }
  return deleteRequestOf(options, query);
}

/** A DeleteOptions object (a DELETE's body, an Eviction's deleteOptions), with the query's values where the object has none. */
export function deleteRequestOf(options: JsonObject, query: URLSearchParams): DeleteRequest {
  const request: DeleteRequest = { dryRun: parseDryRun(query) };
  const grace = options.gracePeriodSeconds ?? (query.get('gracePeriodSeconds') !== null ? Number(query.get('gracePeriodSeconds')) : undefined);
  if (grace !== undefined && grace !== null) {
    if (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0) throw statusErrors.badRequest(`gracePeriodSeconds: Invalid value: ${JSON.stringify(grace)}`);
    request.gracePeriodSeconds = grace;
  }
  const preconditions = options.preconditions;
  if (isJsonObject(preconditions)) {
    request.preconditions = {};
    if (typeof preconditions.uid === 'string') request.preconditions.uid = preconditions.uid;
    if (typeof preconditions.resourceVersion === 'string') request.preconditions.resourceVersion = preconditions.resourceVersion;
  }
  if (Array.isArray(options.dryRun) && options.dryRun.includes('All')) request.dryRun = true;
  return request;
}

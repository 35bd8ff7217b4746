/**
 * Errors as Kubernetes `Status` objects, so clients (kubectl, client-go, client-node) show the
 * message and branch on `reason`/`code` exactly as they do against kube-apiserver.
 */
import type { JsonObject } from '../../protocol/index.js';
import type { ResourceInfo } from './resources.js';

export type StatusReason =
  | 'BadRequest'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'Expired'
  | 'Timeout'
  | 'RequestEntityTooLarge'
  | 'TooManyRequests'
  | 'InternalError';

export interface StatusDetails {
  name?: string;
  kind?: string;
}

/** A Status body for a failed request. */
export function failureStatus(code: number, reason: StatusReason, message: string, details?: StatusDetails): JsonObject {
  const status: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details) {
    const body: JsonObject = {};
    if (details.name !== undefined) body.name = details.name;
    if (details.kind !== undefined) body.kind = details.kind;
    status.details = body;
  }
  status.code = code;
  return status;
}

/** Thrown by request handlers; the server answers with its Status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: JsonObject;

  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    details?: StatusDetails,
  ) {
    super(message);
    this.status = failureStatus(code, reason, message, details);
  }
}

export const READ_ONLY_MESSAGE = 'the edge local API is read-only; change objects in the cluster';

export const apiErrors = {
  badRequest: (message: string): ApiError => new ApiError(400, 'BadRequest', message),
  /** kube's generic answer for a path it does not serve; kubectl tolerates it during discovery. */
  pathNotFound: (): ApiError => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {}),
  objectNotFound: (info: ResourceInfo, name: string): ApiError => new ApiError(404, 'NotFound', `${info.resource} "${name}" not found`, { name, kind: info.resource }),
  methodNotAllowed: (): ApiError => new ApiError(405, 'MethodNotAllowed', READ_ONLY_MESSAGE),
  secretsForbidden: (name?: string): ApiError => {
    const subject = name === undefined ? 'secrets' : `secrets "${name}"`;
    const details: StatusDetails = name === undefined ? { kind: 'secrets' } : { name, kind: 'secrets' };
    return new ApiError(403, 'Forbidden', `${subject} is forbidden: the edge local API serves Secrets only when the agent runs with --local-api-secrets`, details);
  },
  notAcceptable: (supported: readonly string[]): ApiError =>
    new ApiError(406, 'NotAcceptable', `only the following media types are accepted: ${supported.join(', ')}`),
  /** 410 for a list at an exact resourceVersion this cache no longer has. */
  expired: (message: string): ApiError => new ApiError(410, 'Expired', message),
  /** A Host header that does not name this machine (DNS rebinding). */
  hostNotAllowed: (message: string): ApiError => new ApiError(403, 'Forbidden', message),
  /** 429, as kube-apiserver answers beyond its in-flight limits; clients retry after Retry-After. */
  tooManyWatches: (limit: number): ApiError =>
    new ApiError(429, 'TooManyRequests', `too many open watches: the edge local API serves at most ${limit} at a time; close one or retry later`),
};

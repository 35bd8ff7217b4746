/**
 * Kubernetes `Status` objects: every failure either API answers is one, with the code, reason,
 * message and details kube-apiserver would send, because clients branch on them (kubectl's
 * "Error from server (NotFound): ..." line, client-go's and client-node's retries, informers'
 * relist on 410 Expired, the hub's conflict handling). Fields are in kube's order.
 */
import type { JsonObject, JsonValue } from '../json.js';

/** The reasons (metav1.StatusReason) these APIs answer with. */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'Expired'
  | 'Timeout'
  | 'TooManyRequests'
  | 'InternalError';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  /** The resource (`pods`), as kube fills it in for most errors; the kind for Invalid. */
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The resource part of a message: `pods`, `leases.coordination.k8s.io`. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** The kind part of an Invalid message: `Pod`, `Lease.coordination.k8s.io`. */
export interface GroupKind {
  group: string;
  kind: string;
}

function detailsJson(details: StatusDetails): JsonObject {
  const out: JsonObject = {};
  if (details.name !== undefined) out.name = details.name;
  if (details.group !== undefined) out.group = details.group;
  if (details.kind !== undefined) out.kind = details.kind;
  if (details.uid !== undefined) out.uid = details.uid;
  if (details.causes !== undefined) {
    out.causes = details.causes.map((cause) => {
      const json: JsonObject = {};
      if (cause.reason !== undefined) json.reason = cause.reason;
      if (cause.message !== undefined) json.message = cause.message;
      if (cause.field !== undefined) json.field = cause.field;
      return json as JsonValue;
    });
  }
  if (details.retryAfterSeconds !== undefined) out.retryAfterSeconds = details.retryAfterSeconds;
  return out;
}

/** The Status body of a failed request. */
export function failureStatus(code: number, reason: StatusReason, message: string, details?: StatusDetails): JsonObject {
  const status: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details) status.details = detailsJson(details);
  status.code = code;
  return status;
}

function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

function resourceDetails(gr: GroupResource, name?: string): StatusDetails {
  const details: StatusDetails = {};
  if (name !== undefined && name !== '') details.name = name;
  if (gr.group) details.group = gr.group;
  details.kind = gr.resource;
  return details;
}

/** The body of a successful delete of a kind whose deletes do not return the object. */
export function successStatus(gr: GroupResource, name: string, uid: string | undefined): JsonObject {
  const details = resourceDetails(gr, name);
  if (uid) details.uid = uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: detailsJson(details) };
}

/** A request that failed; the server answers `toStatus()` with HTTP status `code`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): JsonObject {
    return failureStatus(this.code, this.reason, this.message, this.details);
  }
}

/** One field error of an Invalid answer, formatted as Kubernetes' field.Error. */
export interface FieldError {
  field: string;
  type: 'Required value' | 'Invalid value' | 'Forbidden' | 'Unsupported value' | 'Duplicate value' | 'Too long' | 'Not found';
  value?: unknown;
  detail?: string;
}

const CAUSE_REASON: Record<FieldError['type'], string> = {
  'Required value': 'FieldValueRequired',
  'Invalid value': 'FieldValueInvalid',
  Forbidden: 'FieldValueForbidden',
  'Unsupported value': 'FieldValueNotSupported',
  'Duplicate value': 'FieldValueDuplicate',
  'Too long': 'FieldValueTooLong',
  'Not found': 'FieldValueNotFound',
};

/** `Invalid value: "BAD": must be ...`, the part of a field error after the field path. */
function fieldErrorBody(error: FieldError): string {
  let body: string = error.type;
  if (error.type !== 'Required value' && error.type !== 'Forbidden' && error.value !== undefined) {
    body += `: ${JSON.stringify(error.value) ?? String(error.value)}`;
  }
  if (error.detail) body += `: ${error.detail}`;
  return body;
}

/** kube-apiserver's errors, with its wording (k8s.io/apimachinery/pkg/api/errors). */
export const statusErrors = {
  notFound(gr: GroupResource, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, resourceDetails(gr, name));
  },

  /** A path that names nothing this server serves; kubectl tolerates it during discovery. */
  routeNotFound(): ApiError {
    return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  },

  alreadyExists(gr: GroupResource, name: string): ApiError {
    return new ApiError(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, resourceDetails(gr, name));
  },

  conflict(gr: GroupResource, name: string, why: string): ApiError {
    return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`, resourceDetails(gr, name));
  },

  /** The optimistic-concurrency failure of an update with a stale resourceVersion. */
  staleResourceVersion(gr: GroupResource, name: string): ApiError {
    return statusErrors.conflict(gr, name, 'the object has been modified; please apply your changes to the latest version and try again');
  },

  invalid(gk: GroupKind, name: string, errors: FieldError[]): ApiError {
    const lines = errors.map((error) => `${error.field}: ${fieldErrorBody(error)}`);
    const aggregate = lines.length === 1 ? (lines[0] as string) : `[${lines.join(', ')}]`;
    const kind = gk.group ? `${gk.kind}.${gk.group}` : gk.kind;
    const details: StatusDetails = { name };
    if (gk.group) details.group = gk.group;
    details.kind = gk.kind;
    details.causes = errors.map((error) => ({ reason: CAUSE_REASON[error.type], message: fieldErrorBody(error), field: error.field }));
    return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${aggregate}`, details);
  },

  badRequest(message: string): ApiError {
    return new ApiError(400, 'BadRequest', message);
  },

  forbidden(gr: GroupResource, name: string, why: string): ApiError {
    const subject = name ? `${qualifiedResource(gr)} "${name}"` : qualifiedResource(gr);
    return new ApiError(403, 'Forbidden', `${subject} is forbidden: ${why}`, resourceDetails(gr, name));
  },

  methodNotSupported(gr: GroupResource, action: string): ApiError {
    const details: StatusDetails = {};
    if (gr.group) details.group = gr.group;
    if (gr.resource) details.kind = gr.resource;
    return new ApiError(405, 'MethodNotAllowed', `${action} is not supported on resources of kind "${qualifiedResource(gr)}"`, details);
  },

  unauthorized(): ApiError {
    return new ApiError(401, 'Unauthorized', 'Unauthorized');
  },

  requestEntityTooLarge(limitBytes: number): ApiError {
    return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limitBytes}`);
  },

  unsupportedMediaType(contentType: string, accepted: readonly string[]): ApiError {
    return new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}${contentType ? ` (got ${contentType})` : ''}`,
    );
  },

  notAcceptable(accepted: readonly string[]): ApiError {
    return new ApiError(406, 'NotAcceptable', `only the following media types are accepted: ${accepted.join(', ')}`);
  },

  /** A resourceVersion older than the kept history (etcd's "compacted"). */
  expired(message: string): ApiError {
    return new ApiError(410, 'Expired', message);
  },

  /**
   * A read at a resourceVersion the server has not reached (kube's watch cache after waiting for
   * it): 504 Timeout, retry after a second, cause ResourceVersionTooLarge.
   */
  tooLargeResourceVersion(requested: number, current: number): ApiError {
    return new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    });
  },

  /** 429, as kube-apiserver answers beyond its in-flight limits; clients retry after Retry-After. */
  tooManyRequests(message: string): ApiError {
    return new ApiError(429, 'TooManyRequests', message);
  },

  internal(message: string): ApiError {
    return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
  },
};

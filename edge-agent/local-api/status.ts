/**
 * The errors only the local API answers, as Kubernetes `Status` objects (protocol/kube/status.ts,
 * shared with the hub's API server, has the rest and the Status format itself), so clients
 * (kubectl, client-go, client-node) show the message and branch on `reason`/`code` exactly as
 * they do against kube-apiserver.
 */
import { ApiError, statusErrors } from '../../protocol/kube/index.js';
import type { ResourceInfo } from './resources.js';

export const READ_ONLY_MESSAGE = 'the edge local API is read-only; change objects in the cluster';

export const localApiErrors = {
  objectNotFound: (info: ResourceInfo, name: string): ApiError => statusErrors.notFound({ group: '', resource: info.resource }, name),
  methodNotAllowed: (): ApiError => new ApiError(405, 'MethodNotAllowed', READ_ONLY_MESSAGE),
  secretsForbidden: (name?: string): ApiError => {
    const subject = name === undefined ? 'secrets' : `secrets "${name}"`;
    return new ApiError(403, 'Forbidden', `${subject} is forbidden: the edge local API serves Secrets only when the agent runs with --local-api-secrets`, name === undefined ? { kind: 'secrets' } : { name, kind: 'secrets' });
  },
  /** A Host header that does not name this machine (DNS rebinding). */
  hostNotAllowed: (message: string): ApiError => new ApiError(403, 'Forbidden', message),
  tooManyWatches: (limit: number): ApiError => statusErrors.tooManyRequests(`too many open watches: the edge local API serves at most ${limit} at a time; close one or retry later`),
};

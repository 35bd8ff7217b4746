/**
 * The "who am I and what may I do" APIs, answered from the server's own authentication and
 * authorization (authorization.ts), never stored:
 *
 * - `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` (`kubectl auth can-i`): the
 *   attributes in spec.resourceAttributes or spec.nonResourceAttributes go through the same
 *   `authorize` every request does, for the requesting user; status.allowed/denied/reason.
 * - `POST /apis/authentication.k8s.io/v1/selfsubjectreviews` (`kubectl auth whoami`):
 *   status.userInfo is the authenticated user.
 *
 * Every authenticated user may ask both, as kube's `system:basic-user` role grants, so these two
 * requests are not themselves put to `authorize`.
 *
 * And the delegated reviews a kubelet (the hub's kubelet endpoint, cloud-hub/streams/kubelet-auth.ts)
 * asks, each authorised first like any request (`create` on the resource, as kube's
 * `system:auth-delegator` grants):
 * - `POST /apis/authentication.k8s.io/v1/tokenreviews`: spec.token through the server's own
 *   `authenticate`; status.authenticated and status.user.
 * - `POST /apis/authorization.k8s.io/v1/subjectaccessreviews`: the attributes put to `authorize`
 *   for spec.user and spec.groups.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJsonObject, type JsonObject } from '../../protocol/index.js';
import { objectField, statusErrors, stringField, type ApiResource } from '../../protocol/kube/index.js';
import type { Authenticator, Authorizer, UserInfo } from './authorization.js';
import { parseObjectBody, readBody } from './content.js';
import type { RequestInfo, ResourceRequestInfo, ResourceVerb } from './request-info.js';
import { sendJson } from './responses.js';

interface ReviewApi {
  group: string;
  version: string;
  resource: string;
  kind: string;
}

const ACCESS_REVIEW: ReviewApi = { group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview' };
const SELF_REVIEW: ReviewApi = { group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews', kind: 'SelfSubjectReview' };
const SUBJECT_ACCESS_REVIEW: ReviewApi = { group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews', kind: 'SubjectAccessReview' };
const TOKEN_REVIEW: ReviewApi = { group: 'authentication.k8s.io', version: 'v1', resource: 'tokenreviews', kind: 'TokenReview' };
const SELF = [ACCESS_REVIEW, SELF_REVIEW];
const DELEGATED = [SUBJECT_ACCESS_REVIEW, TOKEN_REVIEW];
const REVIEWS = [...SELF, ...DELEGATED];

/** Discovery entries for the two groups (create only, cluster-scoped, as kube lists them). */
export const REVIEW_DISCOVERY: readonly { group: string; version: string; resources: ApiResource[] }[] = [...new Set(REVIEWS.map((api) => api.group))].map((group) => ({
  group,
  version: 'v1',
  resources: REVIEWS.filter((api) => api.group === group).map((api) => ({ name: api.resource, singularName: api.kind.toLowerCase(), namespaced: false, kind: api.kind, verbs: ['create'] })),
}));

function reviewOf(info: RequestInfo, among: readonly ReviewApi[] = REVIEWS): ReviewApi | undefined {
  if (!info.isResourceRequest || info.name !== '' || info.subresource !== '') return undefined;
  return among.find((api) => api.group === info.apiGroup && api.version === info.apiVersion && api.resource === info.resource);
}

export class SelfReviews {
  constructor(
    private readonly authorize: Authorizer,
    private readonly maxBodyBytes: number,
    private readonly authenticate: Authenticator,
  ) {}

  /** True when the request is one of the self reviews (served here, not authorized first). */
  handles(info: RequestInfo): boolean {
    return reviewOf(info, SELF) !== undefined;
  }

  /** True when the request is a TokenReview or SubjectAccessReview (served here once authorized). */
  handlesDelegated(info: RequestInfo): boolean {
    return reviewOf(info, DELEGATED) !== undefined;
  }

  async serve(req: IncomingMessage, res: ServerResponse, info: RequestInfo, user: UserInfo): Promise<void> {
    const api = reviewOf(info) as ReviewApi;
    if (req.method !== 'POST') throw statusErrors.methodNotSupported({ group: api.group, resource: api.resource }, (req.method ?? 'GET').toLowerCase());
    const body = parseObjectBody(await readBody(req, this.maxBodyBytes), req.headers['content-type']);
    if (!isJsonObject(body)) throw statusErrors.badRequest(`the body must be a ${api.kind}`);
    if (body.kind !== undefined && body.kind !== api.kind) throw statusErrors.badRequest(`the body must be a ${api.kind}, not ${String(body.kind)}`);
    const answer: JsonObject = { kind: api.kind, apiVersion: `${api.group}/${api.version}`, metadata: { creationTimestamp: null } };
    if (api === SELF_REVIEW) {
      answer.status = { userInfo: { username: user.username, groups: [...user.groups] } };
    } else if (api === TOKEN_REVIEW) {
      const token = stringField(objectField(body, 'spec') ?? {}, 'token');
      const reviewed = token ? this.authenticate(token) : undefined;
      answer.status = reviewed ? { authenticated: true, user: { username: reviewed.username, groups: [...reviewed.groups] } } : { authenticated: false };
    } else if (api === SUBJECT_ACCESS_REVIEW) {
      const spec = objectField(body, 'spec') ?? {};
      answer.spec = spec;
      const groups = Array.isArray(spec.groups) ? spec.groups.filter((g): g is string => typeof g === 'string') : [];
      const subject = stringField(spec, 'user');
      if (!subject && groups.length === 0) {
        throw statusErrors.invalid({ group: api.group, kind: api.kind }, '', [{ field: 'spec.user', type: 'Invalid value', value: '', detail: 'at least one of user or group must be specified' }]);
      }
      answer.status = await this.accessReview(spec, { username: subject ?? '', groups });
    } else {
      const spec = objectField(body, 'spec') ?? {};
      answer.spec = spec;
      answer.status = await this.accessReview(spec, user);
    }
    sendJson(res, 201, answer);
  }

  private async accessReview(spec: JsonObject, user: UserInfo): Promise<JsonObject> {
    const resource = objectField(spec, 'resourceAttributes');
    const nonResource = objectField(spec, 'nonResourceAttributes');
    if ((resource === undefined) === (nonResource === undefined)) {
      throw statusErrors.invalid({ group: ACCESS_REVIEW.group, kind: ACCESS_REVIEW.kind }, '', [
        { field: 'spec.resourceAttributes', type: 'Invalid value', value: '', detail: 'exactly one of nonResourceAttributes or resourceAttributes must be specified' },
      ]);
    }
    let request: RequestInfo;
    if (resource) {
      const text = (name: string): string => stringField(resource, name) ?? '';
      const attributes: ResourceRequestInfo = {
        isResourceRequest: true,
        path: '',
        // An authorizer may see any verb a review asks about ("use", "*"), not only the ones requests resolve to.
        verb: text('verb') as ResourceVerb,
        apiGroup: text('group'),
        apiVersion: text('version'),
        resource: text('resource'),
        subresource: text('subresource'),
        namespace: text('namespace'),
        name: text('name'),
      };
      request = attributes;
    } else {
      request = { isResourceRequest: false, path: stringField(nonResource, 'path') ?? '', verb: stringField(nonResource, 'verb') ?? '' };
    }
    const decision = await this.authorize({ user, request });
    if (decision.allowed) return { allowed: true };
    return decision.reason ? { allowed: false, reason: decision.reason } : { allowed: false };
  }
}

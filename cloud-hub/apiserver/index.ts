/** The embedded Kubernetes-wire API server: construct it in-process, or run `cloud-hub apiserver`. */
export { EmbeddedApiServer, type EmbeddedApiServerOptions } from './server.js';
export { DEFAULT_BOOKMARK_INTERVAL_MS, DEFAULT_HISTORY_WINDOW } from './defaults.js';
export { ADMIN_USER, allowAll, singleTokenAuthenticator } from './authorization.js';
export type { AuthorizationAttributes, AuthorizationDecision, Authenticator, Authorizer, UserInfo } from './authorization.js';
export type { NonResourceRequestInfo, RequestInfo, ResourceRequestInfo, ResourceVerb } from './request-info.js';

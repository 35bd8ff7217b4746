/** edge-agent/local-api: the agent's read-only Kubernetes API on localhost, served from the cache. */
export { LocalApiServer, DEFAULT_BOOKMARK_INTERVAL_MS, LOCAL_API_LIMITS, RemoteBindRefusedError, type LocalApiServerOptions } from './local-api-server.js';
export { isLoopbackAddress } from './host-check.js';
export type { LocalReadModel } from './read-model.js';
export type { PodStatusLookup } from './presenter.js';
export { LOCAL_FIELD_LABELS, parseFieldSelector } from './object-filter.js';
export { READ_ONLY_MESSAGE } from './status.js';

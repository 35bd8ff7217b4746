/** edge-agent/local-api: the agent's read-only Kubernetes API on localhost, served from the cache. */
export { LocalApiServer, DEFAULT_BOOKMARK_INTERVAL_MS, type LocalApiServerOptions } from './local-api-server.js';
export type { LocalApiSource } from './source.js';
export type { PodStatusLookup } from './presenter.js';
export { parseFieldSelector, FieldSelector, type FieldRequirement } from './field-selector.js';
export { READ_ONLY_MESSAGE } from './status.js';

/**
 * The API server's defaults, apart from the server so that declaring `cloud-hub apiserver`
 * (command.ts, loaded with every cloud-hub command) does not load the server.
 */

/** Changes kept for watches to resume from; older resourceVersions get 410 Gone. */
export const DEFAULT_HISTORY_WINDOW = 10_000;

/** Interval of BOOKMARK events on watches that allow them (kube-apiserver: about a minute). */
export const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000;

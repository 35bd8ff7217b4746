/** edge-agent/kubelet-api: the kubelet's streaming and stats API for this node's own Pods. */
export { KubeletApiServer, KUBELET_API_LIMITS, type KubeletApiDeps } from './kubelet-api-server.js';
export { serveContainerLogs, parseLogRequest } from './log-request.js';

/** edge-agent/runtime: the Runtime contract and the process runtime that implements it. */
export type { ObjectLookup, Runtime, RuntimeEvent } from './runtime.js';
export { ProcessRuntime, defaultHostIP, type ProcessRuntimeOptions } from './process-runtime.js';
export { KUBELET_BACKOFF, type BackoffSettings } from './crash-loop-backoff.js';
export { DEFAULT_LOG_ROTATION } from './log-rotator.js';
export type { BwrapMode } from './sandbox.js';
export type { OomCounter } from './oom.js';
export { RuntimeRouter, PROCESS_RUNTIME_CLASS } from './runtime-router.js';

/** protocol/: the wire contract of edge-sync, shared by the hub, the agent and the simulator. */
export * from './errors.js';
export * from './json.js';
export * from './names.js';
export * from './object-names.js';
export * from './keys.js';
export * from './frames.js';
export * from './codec.js';
export * from './digest.js';
export * from './content-version.js';
export * as mergePatch from './merge-patch.js';
export * from './topics.js';
export * from './edge-config.js';
export * from './websocket.js';

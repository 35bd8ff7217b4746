/**
 * @grpc/grpc-js, for `import('./grpc-js.js')` when a Pod first has a grpc probe. A module of our
 * own around the CommonJS package keeps its named exports in every form the agent runs as: the
 * development tree (Node.js's ES module loader) and the bundle, whose lazy chunks would otherwise
 * expose a CommonJS package only as `default` (scripts/agent-bundle/build.ts).
 */
import * as grpc from '@grpc/grpc-js';

export { grpc };

/**
 * grpc-js, proto-loader and protobufjs, for `import('./grpc-modules.js')` by CriClient.connect
 * (only with --container-runtime-endpoint). A module of our own around the CommonJS packages
 * keeps their named exports in every form the agent runs as: the development tree (Node.js's ES
 * module loader) and the bundle, whose lazy chunks would otherwise expose a CommonJS package only
 * as `default` (scripts/agent-bundle/build.ts).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';

export { grpc, protoLoader, protobuf };

import { WsClose } from '../../protocol/index.js';

/**
 * What a transport hands the hub for one connected node: a way to send frames' text and to
 * close. Transports move bytes and know no frame or object kinds.
 */
export interface Connection {
  /** For logs: transport and peer address. */
  readonly description: string;
  /** A frame's JSON text, as a string or its UTF-8 bytes (sent as a text message either way). */
  send(text: string | Buffer): void;
  /** Closes the connection; `code` follows WebSocket close codes (4000 = replaced by a newer connection). */
  close(code: number, reason: string): void;
  /**
   * Bytes sent and not yet taken by the network (the peer is slow or not reading). A transport
   * without its own buffer per node (MQTT: the broker queues) leaves it out.
   */
  bufferedBytes?(): number;
  /** Calls `callback` once everything sent so far has left the buffer. */
  whenDrained?(callback: () => void): void;
  /**
   * Stops reading from the peer for `ms` (its frames wait in the network): how a node over its
   * inbound limit is slowed without losing anything. A transport that cannot stop reading one
   * peer leaves it out, and frames over the limit are dropped instead.
   */
  throttle?(ms: number): void;
}

/** What the hub gives a transport back for a connection it accepted. */
export interface ConnectionHandler {
  receive(data: Buffer | string): void;
  closed(): void;
}

export const CLOSE_REPLACED = WsClose.Replaced;
export const CLOSE_REVOKED = WsClose.Revoked;
export const CLOSE_PROTOCOL = WsClose.Protocol;
export const CLOSE_SILENT = WsClose.Silent;
export const CLOSE_SHUTDOWN = WsClose.Shutdown;
export const CLOSE_INTERNAL = WsClose.Internal;

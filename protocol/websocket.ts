/**
 * The WebSocket transport's fixed names: where an agent connects, the subprotocol, the header
 * a hub puts on every refused upgrade, and the close codes (protocol/README.md, "WebSocket").
 */

/** `ws[s]://HOST:PORT/edge/v1/<node>`. */
export const WS_PATH_PREFIX = '/edge/v1/';
export const WS_SUBPROTOCOL = 'edge-sync.v1';
/** The subprotocol of a stream tunnel: binary messages carrying one HTTP/1.1 connection's bytes. */
export const TUNNEL_SUBPROTOCOL = 'edge-sync.tunnel.v1';
/** The path segment between the node and the id: `/edge/v1/<node>/tunnel/<id>`. */
export const TUNNEL_PATH_SEGMENT = '/tunnel/';

/** `/edge/v1/<node>/tunnel/<id>`: where an agent dials the tunnel a `tunnel` frame asked for. */
export function tunnelPath(node: string, id: string): string {
  return `${WS_PATH_PREFIX}${encodeURIComponent(node)}${TUNNEL_PATH_SEGMENT}${id}`;
}
/**
 * On every HTTP answer by which a hub refuses an upgrade: the error code (protocol/errors.ts).
 * An answer without it did not come from an edge-sync hub.
 */
export const REFUSAL_HEADER = 'edge-sync-error';

export const WsClose = {
  /** The hub stops. */
  Shutdown: 1001,
  /** A frame over the receiver's payload limit (well above the protocol limit): not read. */
  TooLarge: 1009,
  /** The hub failed while serving the connection; reconnecting resyncs. */
  Internal: 1011,
  /** A newer connection of the same node took over, or took the one pending slot. */
  Replaced: 4000,
  /** The node's token was revoked or replaced. */
  Revoked: 4001,
  /** `hello` named another node than the credential. */
  Protocol: 4002,
  /** No frame within the hub's handshake timeout after the upgrade. */
  Silent: 4003,
} as const;

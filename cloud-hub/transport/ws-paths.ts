/**
 * The paths of the hub's WebSocket endpoint (`/edge/v1/<node>`, `/edge/v1/<node>/tunnel/<id>`)
 * and the HTTP answer by which it refuses an upgrade (with its protocol error code).
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode, REFUSAL_HEADER, TUNNEL_ID_PATTERN, TUNNEL_PATH_SEGMENT, WS_PATH_PREFIX, dns1123SubdomainError } from '../../protocol/index.js';

/** The node of `/edge/v1/<node>` (and the id of `/edge/v1/<node>/tunnel/<id>` when tunnels are served), or why the path is refused. */
export function parseNodePath(path: string, tunnels = false): { node: string; tunnel?: string } | { status: 400 | 404; error: string } {
  if (!path.startsWith(WS_PATH_PREFIX)) {
    return { status: 404, error: `unknown endpoint ${JSON.stringify(path.slice(0, 100))}: edge agents connect to ${WS_PATH_PREFIX}<node>` };
  }
  let rest = path.slice(WS_PATH_PREFIX.length);
  let tunnel: string | undefined;
  const at = rest.indexOf(TUNNEL_PATH_SEGMENT);
  if (tunnels && at >= 0) {
    tunnel = rest.slice(at + TUNNEL_PATH_SEGMENT.length);
    if (!TUNNEL_ID_PATTERN.test(tunnel)) return { status: 400, error: 'the tunnel id in the path is not 22 base64url characters' };
    rest = rest.slice(0, at);
  }
  let node: string;
  try {
    node = decodeURIComponent(rest);
  } catch {
    return { status: 400, error: 'the node name in the path is not valid percent-encoding' };
  }
  const why = dns1123SubdomainError(node);
  if (why !== undefined) return { status: 400, error: `${JSON.stringify(node.slice(0, 100))} is not a node name: it ${why}` };
  return tunnel === undefined ? { node } : { node, tunnel };
}

/** Answers an upgrade with an HTTP error that names its protocol error code, and closes. */
export function refuse(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${code}: ${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${REFUSAL_HEADER}: ${code}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // A peer that does not read the answer must not keep the socket.
  setTimeout(() => socket.destroy(), 1_000).unref();
}

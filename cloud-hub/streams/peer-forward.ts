/**
 * Sending a kubelet request on to the hub replica that holds the node's session (found by
 * peer-directory.ts). The request goes out as it came (path, query, method, body or upgrade,
 * through http-forward.ts), over TLS verified against the CA the replicas share, with:
 *
 * - this replica's own bearer token instead of the caller's credentials: the receiving replica
 *   authenticates *this replica* (TokenReview) and authorises it per request like any caller
 *   (SubjectAccessReview on nodes/proxy, nodes/log, nodes/stats, nodes/metrics), so a forwarded
 *   request never skips the kubelet authorisation. The original caller was already
 *   authenticated and authorised for this request on this replica before it was forwarded;
 * - `x-edge-sync-node`: the node this replica resolved (the receiver still checks a path's Pod
 *   is bound to it);
 * - `x-edge-sync-forwarded: <this replica's id>`: a request carrying it is served only from the
 *   receiver's own sessions and never forwarded again, so two replicas that each think the other
 *   holds a node cannot bounce a request between them.
 */
import type { IncomingMessage } from 'node:http';
import tls from 'node:tls';
import { NODE_HEADER, forwardHeaders, type ForwardTarget } from './http-forward.js';
import type { Peer, PeerClientSettings } from './peer-directory.js';

/** The hop header: the id of the replica that forwarded the request. */
export const FORWARDED_HEADER = 'x-edge-sync-forwarded';

/** The replica that forwarded `req`, when it was forwarded (the value is shortened for logs and errors). */
export function forwardedBy(req: IncomingMessage): string | undefined {
  const value = req.headers[FORWARDED_HEADER];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.slice(0, 253);
}

export class PeerForward {
  constructor(
    private readonly self: string,
    private readonly settings: PeerClientSettings,
  ) {}

  /** The forwarding target for `req` (already authenticated and authorised here) to `peer`. */
  target(req: IncomingMessage, peer: Peer, node: string, path: string, upgrade: boolean): ForwardTarget {
    const token = this.settings.token();
    const { ca, serverName } = this.settings;
    return {
      connect: () => tls.connect({ host: peer.host, port: peer.port, ca, ...(serverName ? { servername: serverName } : {}), ALPNProtocols: ['http/1.1'] }),
      method: req.method ?? 'GET',
      path,
      headers: {
        ...forwardHeaders(req.headers, upgrade),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        [NODE_HEADER]: node,
        [FORWARDED_HEADER]: this.self,
      },
      host: peer.host.includes(':') ? `[${peer.host}]:${peer.port}` : `${peer.host}:${peer.port}`,
      label: `hub replica ${peer.id}`,
    };
  }
}

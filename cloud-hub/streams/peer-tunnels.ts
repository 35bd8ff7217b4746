/**
 * Tunnel dials that reach the wrong replica. A replica asks a node for a tunnel on the node's
 * session, and the agent dials its `--stream-url` (or `--hub`): behind a load balancer, or for
 * an agent syncing over MQTT (whose session is on the replica owning its shard), that dial can
 * land on any replica. A replica that gets a dial for a tunnel it did not ask for (the node's
 * token already checked here) asks its peers which one waits for it
 * (`GET /edge-sync/v1/tunnels/<node>/<id>`, peer-directory.ts), upgrades the agent's WebSocket
 * as usual, and joins it to the waiting replica: an upgrade `/edge-sync/v1/tunnels/<node>/<id>`
 * to that replica's kubelet endpoint (TLS verified against the replicas' CA, this replica's
 * bearer token, authorised there as `create nodes/proxy` on the node), whose raw bytes then
 * carry the tunnel both ways. The waiting replica claims the id exactly as for a direct dial:
 * once, for that node only, before it expires; its limits and idle timer apply.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { Peer, PeerClientSettings, PeerDirectory } from './peer-directory.js';
import { tunnelJoinPath } from './peer-directory.js';
import { FORWARDED_HEADER } from './peer-forward.js';
import type { PeerMetrics } from './peer-metrics.js';
import { splice } from './splice.js';
import type { TunnelClaim, TunnelStream } from './tunnel-broker.js';

/** The Upgrade token of a tunnel joined between replicas. */
export const TUNNEL_JOIN_UPGRADE = 'edge-sync-tunnel';

/** How long the waiting replica has to answer the join. */
const JOIN_TIMEOUT_MS = 10_000;

export interface PeerTunnelsOptions {
  self: string;
  directory: PeerDirectory;
  settings: PeerClientSettings;
  metrics: PeerMetrics;
  logger: Logger;
}

export class PeerTunnels {
  constructor(private readonly options: PeerTunnelsOptions) {}

  /** A claim that joins the dial to the replica waiting for tunnel `id` of `node`; undefined when none does. Never throws. */
  async join(node: string, id: string): Promise<TunnelClaim | undefined> {
    const found = await this.options.directory.find(node, tunnelJoinPath(node, id));
    if ('asked' in found) return undefined;
    const { peer } = found;
    const { logger, metrics } = this.options;
    metrics.forwarded.inc({ kind: 'tunnel' });
    logger.debug({ node, peer: peer.id }, 'joining a tunnel dial to the replica that asked for it');
    return {
      complete: (tunnel: TunnelStream) => {
        try {
          this.open(node, id, peer, tunnel);
        } catch (err) {
          // A request Node refuses to build (a token with a line break, say) ends the dial, not the hub.
          logger.warn({ node, peer: peer.id, err: (err as Error).message }, 'could not join a tunnel dial to the replica that asked for it');
          tunnel.stream.destroy();
        }
      },
      fail: (why) => logger.info({ node, peer: peer.id, why }, 'a tunnel dial ended before it was joined'),
    };
  }

  /** The upgrade to `peer` that carries the dialled tunnel's bytes. */
  private open(node: string, id: string, peer: Peer, tunnel: TunnelStream): void {
    const { logger, settings, self } = this.options;
    const token = settings.token();
    const req = http.request({
      method: 'GET',
      path: tunnelJoinPath(node, id),
      headers: { connection: 'Upgrade', upgrade: TUNNEL_JOIN_UPGRADE, host: `${peer.host}:${peer.port}`, [FORWARDED_HEADER]: self, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      createConnection: () => tls.connect({ host: peer.host, port: peer.port, ca: settings.ca, ...(settings.serverName ? { servername: settings.serverName } : {}), ALPNProtocols: ['http/1.1'] }) as never,
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${JOIN_TIMEOUT_MS} ms`)), JOIN_TIMEOUT_MS);
    timer.unref();
    const fail = (why: string): void => {
      clearTimeout(timer);
      logger.warn({ node, peer: peer.id, why }, 'could not join a tunnel dial to the replica that asked for it');
      tunnel.stream.destroy();
    };
    req.on('error', (err) => fail(err.message));
    req.on('response', (res) => {
      res.resume();
      fail(`answered ${res.statusCode ?? 0}`);
    });
    let joined = false;
    // The agent gone before the join is answered: nothing waits for the join any more.
    tunnel.stream.once('close', () => {
      if (!joined) req.destroy();
    });
    req.on('upgrade', (_res, socket: Duplex, head: Buffer) => {
      joined = true;
      clearTimeout(timer);
      splice(tunnel.stream, socket, head);
    });
    req.end();
  }
}

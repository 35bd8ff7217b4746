/**
 * Which hub replica holds a node's session, asked when a kubelet request arrives for a node this
 * replica has no session for. The session holder is recorded nowhere (not on the Node, which
 * would cost every node a sync on every connect, nor in one Lease per node): the replicas are few
 * (2 to 5, replicas/replica-membership.ts), so this one asks all the others at once,
 * `GET /edge-sync/v1/sessions/<node>` on their kubelet endpoints, and takes the first that says
 * it holds it. The same question finds the replica waiting for a tunnel an agent dialled here
 * (`GET /edge-sync/v1/tunnels/<node>/<id>`, peer-tunnels.ts).
 *
 * A probe is authenticated like any request to a kubelet endpoint (this replica's bearer token,
 * checked there with a TokenReview, and a SubjectAccessReview `get nodes/proxy` on the node) and
 * goes over TLS verified against the CA the replicas share. Every answer is hostile input: each
 * probe has a deadline, at most `maxProbesPerPeer` are in flight per peer (more are skipped), at
 * most 1 KiB of an answer is read, and nothing a peer sends can throw out of `find`.
 */
import https from 'node:https';
import type { Logger } from 'pino';
import type { PeerMetrics } from './peer-metrics.js';

/** The session probe's path prefix on a kubelet endpoint; the node name follows, percent-encoded. */
export const SESSION_PROBE_PREFIX = '/edge-sync/v1/sessions/';
/** Tunnels another replica asked for: `GET` asks whether it waits for one, an upgrade joins it (peer-tunnels.ts); `<node>/<id>` follows. */
export const TUNNEL_JOIN_PREFIX = '/edge-sync/v1/tunnels/';

export function sessionProbePath(node: string): string {
  return `${SESSION_PROBE_PREFIX}${encodeURIComponent(node)}`;
}

export function tunnelJoinPath(node: string, id: string): string {
  return `${TUNNEL_JOIN_PREFIX}${encodeURIComponent(node)}/${encodeURIComponent(id)}`;
}

/** The largest probe answer read. */
const MAX_ANSWER_BYTES = 1024;

export interface Peer {
  id: string;
  host: string;
  port: number;
}

/** How this replica dials its peers: TLS verified against `ca`, its identity a bearer token. */
export interface PeerClientSettings {
  /** CA (PEM) the peers' kubelet endpoint certificates are signed by. */
  ca: string;
  /** The name the peers' certificates must carry; default: the peer's address. */
  serverName?: string;
  /** This replica's bearer token (its ServiceAccount token); undefined: none can be had. */
  token: () => string | undefined;
}

export interface PeerDirectoryOptions extends PeerClientSettings {
  /** The other live replicas. */
  peers: () => readonly Peer[];
  probeTimeoutMs: number;
  maxProbesPerPeer: number;
  metrics: PeerMetrics;
  logger: Logger;
}

export type ProbeResult = { peer: Peer } | { asked: number };

export class PeerDirectory {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly options: PeerDirectoryOptions) {}

  /** How many peers there are to ask. */
  get size(): number {
    return this.options.peers().length;
  }

  /**
   * The peer that holds `node`'s session, or how many were asked when none does; with `path`
   * (tunnelJoinPath), the peer that waits for that tunnel. Never throws.
   */
  find(node: string, path = sessionProbePath(node)): Promise<ProbeResult> {
    const peers = this.options.peers();
    if (peers.length === 0) return Promise.resolve({ asked: 0 });
    return new Promise((resolve) => {
      let pending = peers.length;
      let found = false;
      for (const peer of peers) {
        void this.probe(peer, node, path).then((held) => {
          pending--;
          if (held && !found) {
            found = true;
            resolve({ peer });
          } else if (pending === 0 && !found) {
            resolve({ asked: peers.length });
          }
        });
      }
    });
  }

  /** True when `peer` says it holds `node`'s session; false on any other answer, error or timeout. */
  private async probe(peer: Peer, node: string, path: string): Promise<boolean> {
    const key = `${peer.host}:${peer.port}`;
    const busy = this.inFlight.get(key) ?? 0;
    if (busy >= this.options.maxProbesPerPeer) {
      this.fail(peer, node, 'busy', `${busy} probes in flight`);
      return false;
    }
    this.inFlight.set(key, busy + 1);
    try {
      const answer = await this.get(peer, path);
      if (answer.status === 404) return false;
      if (answer.status !== 200) {
        this.fail(peer, node, 'status', `answered ${answer.status}: ${answer.body.slice(0, 200)}`);
        return false;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(answer.body);
      } catch {
        parsed = undefined;
      }
      const claim = parsed as { node?: unknown; held?: unknown } | undefined;
      if (claim?.node !== node || claim.held !== true) {
        this.fail(peer, node, 'answer', 'a 200 answer that does not say it holds this node');
        return false;
      }
      return true;
    } catch (err) {
      const timeout = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
      this.fail(peer, node, timeout ? 'timeout' : 'error', (err as Error).message);
      return false;
    } finally {
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
    }
  }

  private fail(peer: Peer, node: string, reason: string, detail: string): void {
    this.options.metrics.probeFailures.inc({ reason });
    this.options.logger.warn({ node, peer: peer.id, reason, detail }, 'could not ask a peer replica about a node\'s session');
  }

  /** One GET with a deadline and a bounded answer; rejects on errors. */
  private get(peer: Peer, path: string): Promise<{ status: number; body: string }> {
    const token = this.options.token();
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: peer.host,
          port: peer.port,
          path,
          method: 'GET',
          ca: this.options.ca,
          ...(this.options.serverName ? { servername: this.options.serverName } : {}),
          headers: token ? { authorization: `Bearer ${token}` } : {},
          agent: false,
          signal: AbortSignal.timeout(this.options.probeTimeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size >= MAX_ANSWER_BYTES) return;
            chunks.push(chunk.subarray(0, MAX_ANSWER_BYTES - size));
            size += Math.min(chunk.length, MAX_ANSWER_BYTES - size);
            if (size >= MAX_ANSWER_BYTES) res.destroy();
          });
          const done = (): void => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          res.on('end', done);
          res.on('close', done);
          res.on('error', () => undefined);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
}

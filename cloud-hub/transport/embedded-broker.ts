/**
 * The in-process MQTT broker (`cloud-hub --embedded-broker HOST:PORT`): aedes, speaking MQTT
 * 3.1.1, with the node tokens as passwords and the topic rules of auth/broker-acl.ts enforced
 * in its hooks. For single-site installs and tests; large fleets use mosquitto or a clustered
 * broker with the files `cloud-hub token mosquitto-auth` writes.
 *
 * Identity comes from authentication only. At CONNECT a connection is either the hub (its
 * user and this process's random password) or one node (node name and a valid token), and
 * that identity is kept with the client object, never looked up by client id: the id is the
 * peer's choice, and a takeover or a disconnect must not move an identity from one connection
 * to another. Everything not authenticated is refused. A node's client id is replaced by its
 * node name (mosquitto's `use_username_as_clientid`), so a node can only ever replace its own
 * connection, never another node's or the hub's, and holds one live connection at a time.
 */
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client, type ConnectPacket } from 'aedes';
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { hubMayUse, nodeMayReceive, nodeMaySubscribe, nodePublishRefusal } from '../auth/broker-acl.js';
import { DEFAULT_MAX_FRAME_BYTES, isNodeName } from '../../protocol/index.js';
import { MQTT_MAX_PACKET_BYTES, MqttPacketLimit, PacketTooLargeError } from './mqtt-packet-limit.js';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Whether `token` is valid for `node` (the hub's TokenStore). */
  verify: (node: string, token: string) => boolean;
  /** Whether the tokens are known yet (the hub's informers have listed); until then nodes are asked to come back. */
  ready: () => boolean;
  /** The hub's own credentials on this broker; the user is not a valid node name. */
  hubUser: string;
  hubPassword: string;
  /** Largest MQTT packet a node may send (default: the protocol frame limit plus 64 KiB for topic and header). */
  maxPacketBytes?: number;
  /** Connections one node may hold at once: the live one and one replacing it (default 2). */
  maxConnectionsPerNode?: number;
  /** How long a new connection may take to send CONNECT (default 10 s). */
  connectTimeoutMs?: number;
}

type Identity = { kind: 'hub' } | { kind: 'node'; node: string };
type Will = ConnectPacket['will'];

const refuse = (code: 3 | 4 | 5, message: string): AuthenticateError => Object.assign(new Error(message), { returnCode: code });

export class EmbeddedBroker {
  private broker?: Aedes;
  private server?: net.Server;
  /** Who each authenticated connection is; keyed by the client object, never by client id. */
  private readonly identities = new WeakMap<Client, Identity>();
  /** A CONNECT's last will, checked when its sender authenticates. */
  private readonly wills = new WeakMap<Client, Will>();
  /** Node -> its authenticated connections that are still open (for revocation and the per-node cap). */
  private readonly connections = new Map<string, Set<Client>>();
  private readonly sockets = new Set<net.Socket>();
  private readonly maxPacketBytes: number;

  constructor(private readonly options: EmbeddedBrokerOptions) {
    this.maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_FRAME_BYTES + 64 * 1024;
  }

  async start(): Promise<string> {
    const { logger } = this.options;
    const broker = await Aedes.createBroker({
      connectTimeout: this.options.connectTimeoutMs ?? 10_000,
      preConnect: (client, packet, done) => {
        // Before authentication and before aedes looks the id up: a node's connection is
        // named after the node, so it can take over no session but its own.
        if (packet.username !== undefined && isNodeName(packet.username)) packet.clientId = packet.username;
        this.wills.set(client, packet.will);
        done(null, true);
      },
      authenticate: (client, username, password, done) => done(...this.authenticate(client, username, password)),
      authorizePublish: (client, packet, done) => {
        // No client: the broker's own $SYS messages.
        if (!client) return done(null);
        const why = this.publishRefusal(this.identities.get(client), packet);
        if (why === undefined) return done(null);
        logger.warn({ ...this.describe(client), topic: packet.topic, reason: why }, 'broker refused a publish; closing the connection');
        done(new Error(why));
      },
      authorizeSubscribe: (client, subscription, done) => {
        const identity = this.identities.get(client);
        const allowed = identity?.kind === 'hub' ? hubMayUse(subscription.topic) : identity?.kind === 'node' && nodeMaySubscribe(identity.node, subscription.topic);
        if (allowed) return done(null, subscription);
        logger.warn({ ...this.describe(client), topic: subscription.topic }, 'broker refused a subscription outside the client\'s topics');
        // MQTT 3.1.1 answers a refused filter with return code 0x80 in the SUBACK.
        done(null, null);
      },
      // Checked again at every delivery: a subscription restored from a persistent session
      // is never authorized afresh, and no message may reach a node outside its `down` topic.
      authorizeForward: (client, packet): AedesPublishPacket | null => {
        const identity = this.identities.get(client);
        if (identity?.kind === 'hub') return packet;
        return identity?.kind === 'node' && nodeMayReceive(identity.node, packet.topic) ? packet : null;
      },
    });
    const onError = (client: Client, err: Error): void => {
      if (err instanceof PacketTooLargeError) logger.warn({ ...this.describe(client), bytes: err.bytes, limit: err.limit }, 'broker closed a connection that sent an oversize packet');
    };
    broker.on('clientError', onError);
    broker.on('connectionError', onError);
    this.broker = broker;
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      broker.handle(new MqttPacketLimit(socket, this.maxPacketBytes));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, this.options.host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    return `mqtt://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  /** Open authenticated connections of `node`. */
  connectionsOf(node: string): number {
    return this.connections.get(node)?.size ?? 0;
  }

  /** Disconnects a node's clients (its token was revoked). */
  disconnect(node: string): void {
    for (const client of this.connections.get(node) ?? []) client.close();
  }

  async close(): Promise<void> {
    // Clients first: the listener's close waits for every open connection, and connections
    // that never sent CONNECT are not the broker's clients yet.
    await new Promise<void>((resolve) => (this.broker ? this.broker.close(() => resolve()) : resolve()));
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private authenticate(client: Client, username: string | undefined, password: Buffer | undefined): [AuthenticateError | null, boolean] {
    const { logger, hubUser, hubPassword, verify } = this.options;
    const secret = password ?? Buffer.alloc(0);
    if (username === hubUser) {
      const expected = Buffer.from(hubPassword, 'utf8');
      if (secret.length !== expected.length || !timingSafeEqual(secret, expected)) {
        logger.warn({ clientId: client.id }, 'broker refused the hub user: wrong password');
        return [refuse(4, 'bad username or password'), false];
      }
      this.identities.set(client, { kind: 'hub' });
      // The hub sends what the cluster holds; its frames are bounded by the sessions, not here.
      if (client.conn instanceof MqttPacketLimit) client.conn.maxPacketBytes = MQTT_MAX_PACKET_BYTES;
      return [null, true];
    }
    if (username !== undefined && isNodeName(username) && !this.options.ready()) {
      // Not a wrong token: the hub cannot tell yet. Agents retry a server that is unavailable.
      return [refuse(3, 'the hub is starting: node tokens not loaded yet'), false];
    }
    if (username === undefined || !isNodeName(username) || !verify(username, secret.toString('utf8'))) {
      logger.warn({ node: username, clientId: client.id }, 'broker refused a node: wrong or revoked token');
      return [refuse(4, 'bad username or password'), false];
    }
    const node = username;
    const will = this.wills.get(client);
    this.wills.delete(client);
    const willRefusal = will ? nodePublishRefusal(node, will) : undefined;
    if (willRefusal !== undefined) {
      logger.warn({ node, topic: will?.topic, reason: willRefusal }, 'broker refused a node: its last will is not its presence');
      return [refuse(5, `last will refused: ${willRefusal}`), false];
    }
    const open = this.connections.get(node) ?? new Set<Client>();
    const limit = this.options.maxConnectionsPerNode ?? 2;
    if (open.size >= limit) {
      logger.warn({ node, open: open.size, limit }, 'broker refused a node: too many connections at once');
      return [refuse(3, `node ${node} already has ${open.size} connections`), false];
    }
    this.identities.set(client, { kind: 'node', node });
    open.add(client);
    this.connections.set(node, open);
    client.conn.once('close', () => {
      open.delete(client);
      if (open.size === 0 && this.connections.get(node) === open) this.connections.delete(node);
    });
    return [null, true];
  }

  private publishRefusal(identity: Identity | undefined, packet: { topic: string; payload: Buffer | string; retain?: boolean }): string | undefined {
    if (identity?.kind === 'hub') return hubMayUse(packet.topic) ? undefined : `not allowed to publish to ${packet.topic}`;
    if (identity?.kind === 'node') return nodePublishRefusal(identity.node, packet);
    return 'not authenticated';
  }

  private describe(client: Client | null): Record<string, string | undefined> {
    const identity = client ? this.identities.get(client) : undefined;
    return { clientId: client?.id ?? undefined, ...(identity?.kind === 'node' ? { node: identity.node } : identity?.kind === 'hub' ? { user: this.options.hubUser } : {}) };
  }
}

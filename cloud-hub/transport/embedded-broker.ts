/**
 * The in-process MQTT broker (`cloud-hub --embedded-broker HOST:PORT`): aedes, speaking MQTT
 * 3.1.1, with the node tokens as passwords and the topic rules of auth/broker-acl.ts enforced
 * in its hooks. For single-site installs and tests; large fleets use mosquitto or a clustered
 * broker with the generated password and ACL files.
 */
import { Aedes, type AuthenticateError } from 'aedes';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { hubMayUse, nodeMayPublish, nodeMaySubscribe } from '../auth/broker-acl.js';
import { isNodeName } from '../../protocol/index.js';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Whether `token` is valid for `node` (the hub's TokenStore). */
  verify: (node: string, token: string) => boolean;
  /** The hub's own credentials on this broker. */
  hubUser: string;
  hubPassword: string;
}

export class EmbeddedBroker {
  private broker?: Aedes;
  private server?: net.Server;
  /** MQTT client id -> node, for the clients that authenticated as nodes. */
  private readonly nodeOf = new Map<string, string>();

  constructor(private readonly options: EmbeddedBrokerOptions) {}

  async start(): Promise<string> {
    const { logger, hubUser, hubPassword, verify } = this.options;
    const refuse = (code: 4 | 5, message: string): AuthenticateError => Object.assign(new Error(message), { returnCode: code });
    const broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        const secret = password?.toString('utf8') ?? '';
        if (username === hubUser) return done(secret === hubPassword ? null : refuse(4, 'bad hub credentials'), secret === hubPassword);
        if (!username || !isNodeName(username) || !verify(username, secret)) {
          logger.warn({ node: username, clientId: client.id }, 'broker refused a node: wrong or revoked token');
          return done(refuse(4, 'bad username or password'), false);
        }
        this.nodeOf.set(client.id, username);
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null);
        const node = this.nodeOf.get(client.id);
        if (node === undefined ? hubMayUse(packet.topic) : nodeMayPublish(node, packet.topic)) return done(null);
        logger.warn({ node, topic: packet.topic }, 'broker refused a publish outside the node\'s topics');
        done(new Error(`not allowed to publish to ${packet.topic}`));
      },
      authorizeSubscribe: (client, subscription, done) => {
        const node = this.nodeOf.get(client.id);
        if (node === undefined ? hubMayUse(subscription.topic) : nodeMaySubscribe(node, subscription.topic)) return done(null, subscription);
        logger.warn({ node, topic: subscription.topic }, 'broker refused a subscription outside the node\'s topics');
        done(null, null);
      },
    });
    broker.on('clientDisconnect', (client) => this.nodeOf.delete(client.id));
    this.broker = broker;
    this.server = net.createServer(broker.handle as (socket: net.Socket) => void);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, this.options.host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    return `mqtt://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  /** Disconnects a node's clients (its token was revoked). */
  disconnect(node: string): void {
    for (const [clientId, owner] of this.nodeOf) {
      if (owner !== node) continue;
      (this.broker as unknown as { clients: Record<string, { close(): void } | undefined> } | undefined)?.clients[clientId]?.close();
    }
  }

  async close(): Promise<void> {
    // Clients first: the listener's close waits for every open connection.
    await new Promise<void>((resolve) => (this.broker ? this.broker.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

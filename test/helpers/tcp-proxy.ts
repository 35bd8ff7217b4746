/**
 * A one-line load balancer for tests: forwards connections to whichever backend is current.
 * `partition()` cuts every connection and refuses new ones until `heal()`: a network outage.
 */
import net from 'node:net';

export class TcpProxy {
  private readonly server = net.createServer((socket) => this.forward(socket));
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  private partitioned = false;

  constructor(public target: number) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Cuts every forwarded connection; new ones are closed at once until heal(). */
  partition(): void {
    this.partitioned = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.partitioned = false;
  }

  private forward(client: net.Socket): void {
    if (this.partitioned) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.pipe(upstream).pipe(client);
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
  }
}

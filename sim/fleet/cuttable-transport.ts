/**
 * A node's real transport with a switch in front: while cut, connecting fails as it would on
 * an unreachable network, so the agent's own link keeps retrying with its backoff and comes
 * back by itself once the cut is restored. Cutting also drops the live connection (the chaos
 * scenario's link cuts); nothing of the protocol is touched.
 */
import type { LinkConnection, LinkEvents, LinkTransport } from '../../edge-agent/link/transport.js';

export class CuttableTransport implements LinkTransport {
  private cut = false;

  constructor(private readonly inner: LinkTransport) {}

  get description(): string {
    return this.inner.description;
  }

  get helloRetryMs(): number {
    return this.inner.helloRetryMs;
  }

  get isCut(): boolean {
    return this.cut;
  }

  cutOff(): void {
    this.cut = true;
  }

  restore(): void {
    this.cut = false;
  }

  async connect(events: LinkEvents): Promise<LinkConnection> {
    if (this.cut) throw new Error('network unreachable (simulated link cut)');
    const connection = await this.inner.connect(events);
    if (this.cut) {
      // Cut while the connection was being made.
      connection.close('simulated link cut');
      throw new Error('network unreachable (simulated link cut)');
    }
    return connection;
  }
}

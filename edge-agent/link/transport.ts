/**
 * How the link reaches the hub. A transport moves frame text in and out and reports when the
 * connection is gone; it knows no frame types. WebSocket is the first; MQTT slots in beside it.
 */

export interface LinkEvents {
  message(data: Buffer | string): void;
  /** The connection ended (peer closed, network error, or liveness timeout). */
  closed(reason: string): void;
}

export interface LinkConnection {
  send(text: string): void;
  close(reason: string): void;
  /** Treat the hub as dead after this long without any traffic (pings included). */
  expectTrafficWithin(ms: number): void;
}

export interface LinkTransport {
  /** For logs, without credentials. */
  readonly description: string;
  /**
   * How long to wait for a welcome before saying hello again on the same connection. Over a
   * broker a hello is lost when no hub was subscribed yet, so this is short; over a socket the
   * hello cannot be lost, and repeating it to a busy hub only doubles its work.
   */
  readonly helloRetryMs: number;
  connect(events: LinkEvents): Promise<LinkConnection>;
}

/** A refusal that retrying soon will not fix (wrong token, wrong node). */
export class LinkRefusedError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LinkRefusedError';
  }
}

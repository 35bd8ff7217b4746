/**
 * What a transport hands the hub for one connected node: a way to send frames' text and to
 * close. Transports move bytes and know no frame or object kinds.
 */
export interface Connection {
  /** For logs: transport and peer address. */
  readonly description: string;
  send(text: string): void;
  /** Closes the connection; `code` follows WebSocket close codes (4000 = replaced by a newer connection). */
  close(code: number, reason: string): void;
}

/** What the hub gives a transport back for a connection it accepted. */
export interface ConnectionHandler {
  receive(data: Buffer | string): void;
  closed(): void;
}

export const CLOSE_REPLACED = 4000;
export const CLOSE_PROTOCOL = 4002;
export const CLOSE_SHUTDOWN = 1001;

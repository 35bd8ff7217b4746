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

/** Where a transport gets the node's token: read anew when the hub refuses it (rotation). */
export interface TokenSource {
  /** The token to present now (undefined: none). */
  current(): string | undefined;
  /** The hub or broker refused the token: read it again before the next attempt. */
  refused(): void;
}

/** A plain token, or a source that can be re-read. */
export type TokenOption = string | TokenSource;

export function currentToken(token: TokenOption | undefined): string | undefined {
  return typeof token === 'string' ? token : token?.current();
}

export function tokenRefused(token: TokenOption | undefined): void {
  if (typeof token === 'object') token.refused();
}

/**
 * A connection error said the way an operator can act on it. TLS failures and a TLS client
 * talking to a plain server are the usual first-run mistakes; OpenSSL's own words are kept
 * at the end.
 */
export function describeConnectError(err: Error & { code?: unknown }, url: string): Error {
  const { protocol, host } = safeUrl(url);
  const secure = protocol === 'wss:' || protocol === 'mqtts:';
  const plain = protocol === 'wss:' || protocol === 'ws:' ? 'ws://' : 'mqtt://';
  const code = typeof err.code === 'string' ? err.code : '';
  const text = err.message.replace(/\s+/g, ' ').trim();
  let hint: string | undefined;
  if (secure && (code === 'EPROTO' || code.startsWith('ERR_SSL_') || /wrong version number|packet length too long|unknown protocol/i.test(text))) {
    hint = `${host} does not speak TLS: the hub (or broker) there serves plain ${plain}; use that, or start the hub with --tls`;
  } else if (['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE'].includes(code)) {
    hint = `the certificate of ${host} is not signed by a CA this agent trusts: pass the hub's CA with --hub-ca FILE (a hub started with --tls and no --tls-cert writes it to DATA/hub-ca.crt)`;
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    hint = `the certificate of ${host} does not name that host: connect by a name it carries, or add this one to the hub's certificate (cloud-hub --tls-san)`;
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    hint = `the certificate of ${host} is not valid now (${code}): renew it, or check this device's clock`;
  } else if (secure && (code === 'ECONNRESET' || /socket hang up/i.test(text))) {
    // A plain MQTT broker resets a TLS client hello it cannot parse.
    hint = `${host} reset the connection during the TLS handshake: most likely it does not speak TLS there; use plain ${plain}, or serve TLS there`;
  } else if (!secure && (code === 'ECONNRESET' || /socket hang up/i.test(text))) {
    hint = `${host} closed the connection during the handshake: if the hub serves TLS, use ${protocol === 'ws:' ? 'wss://' : 'mqtts://'} instead of ${plain}`;
  }
  return hint ? Object.assign(new Error(`${hint} (${code ? `${code}: ` : ''}${text})`), { code: err.code }) : err;
}

function safeUrl(url: string): { protocol: string; host: string } {
  try {
    const parsed = new URL(url);
    return { protocol: parsed.protocol, host: parsed.host };
  } catch {
    return { protocol: '', host: url };
  }
}

/**
 * Stable error codes of protocol v1. A code never changes meaning once published:
 * peers, dashboards and tests match on it. protocol/README.md lists each one.
 */
export const ErrorCode = {
  /** The frame is larger than the receiver's limit; it was not parsed. */
  TooLarge: 'E_TOO_LARGE',
  /** The bytes are not valid UTF-8 JSON. */
  Json: 'E_JSON',
  /** `v` is missing or is not a version this peer speaks. */
  Version: 'E_VERSION',
  /** `t` is missing or names no frame type of this version. */
  Type: 'E_TYPE',
  /** The frame type is known but a field is missing or has the wrong type. */
  Shape: 'E_SHAPE',
  /** The frame is valid but not allowed now (for example a second `welcome`). */
  State: 'E_STATE',
  /**
   * The receiver has no session for the sender (a frame before `hello`, a hub restarted behind a
   * broker, a shard moved to another replica): say `hello` again.
   */
  Hello: 'E_HELLO',
  /** The node may not do this (for example status for a Pod bound to another node). */
  Forbidden: 'E_FORBIDDEN',
  /** Credentials are missing, wrong or revoked. */
  Auth: 'E_AUTH',
  /** The receiver is not ready to serve yet (for example the hub's informers are still listing). */
  Unavailable: 'E_UNAVAILABLE',
  /** The receiver failed while handling a valid frame; the frame may be retried. */
  Internal: 'E_INTERNAL',
  /**
   * The sender is over one of its limits (frames, bytes or events per second, or connections).
   * The receiver slows it down or drops what is over; waiting and sending again works.
   */
  RateLimited: 'E_RATE_LIMITED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/** A frame that could not be accepted, with the code to put in the `error` frame sent back. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    // An answer to a peer's bad input, made for every bad frame a flood brings: without a stack
    // trace, which nobody reads and whose capture was most of the cost of refusing a frame.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'ProtocolError';
    this.code = code;
  }
}

/**
 * The one codec of protocol v1: `encode` a frame to its JSON text, `decode` bytes into a
 * validated frame or a ProtocolError carrying the code to answer with.
 */
import { isUtf8 } from 'node:buffer';
import { ErrorCode, ProtocolError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_SCHEMAS, PROTOCOL_VERSION, type Frame, type FrameType, type SyncOp } from './frames.js';
import { isJsonObject } from './json.js';

export interface DecodeOptions {
  /** Frames over this many bytes are refused before parsing. Default 4 MiB. */
  maxBytes?: number;
  /** Frame types this receiver accepts; others fail with E_TYPE. Default: all. */
  accept?: readonly FrameType[];
}


export function encode(frame: Frame): string {
  return JSON.stringify(frame);
}

/** The JSON text of one sync op, so a change sent to many nodes is serialised once. */
export function encodeOp(op: SyncOp): string {
  return JSON.stringify(op);
}

/**
 * The JSON text of a `put` op from the object's JSON text, without parsing it: equal to
 * `encodeOp({op: 'put', key, rv, obj})` when `objJson` is `JSON.stringify(obj)`.
 */
export function encodePutOp(key: string, rv: string, objJson: string): string {
  return `{"op":"put","key":${JSON.stringify(key)},"rv":${JSON.stringify(rv)},"obj":${objJson}}`;
}

/** A `sync` frame built from ops already passed through `encodeOp`. Equal to `encode` of the same frame. */
export function encodeSync(seq: number, encodedOps: readonly string[]): string {
  return `{"v":${PROTOCOL_VERSION},"t":"sync","seq":${seq},"ops":[${encodedOps.join(',')}]}`;
}

/**
 * The UTF-8 bytes of a `sync` frame built from ops already encoded to UTF-8: the ops' bytes are
 * copied, never encoded again, so a change sent to many nodes is encoded once however many
 * frames (each with its own seq) carry it. Equal to `Buffer.from(encodeSync(seq, ops))` when
 * each op is `Buffer.from(encodeOp(op))`.
 */
export function encodeSyncBytes(seq: number, encodedOps: readonly Uint8Array[]): Buffer {
  const head = `{"v":${PROTOCOL_VERSION},"t":"sync","seq":${seq},"ops":[`;
  let length = head.length + 2 + Math.max(0, encodedOps.length - 1);
  for (const op of encodedOps) length += op.byteLength;
  const out = Buffer.allocUnsafe(length);
  // The head is ASCII: one byte per character.
  let at = out.write(head, 0, 'latin1');
  for (let i = 0; i < encodedOps.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    const op = encodedOps[i]!;
    out.set(op, at);
    at += op.byteLength;
  }
  out[at++] = 0x5d; // ]
  out[at] = 0x7d; // }
  return out;
}

export function byteLength(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
}

export function decode(data: string | Uint8Array, options: DecodeOptions = {}): Frame {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FRAME_BYTES;
  // A string of n UTF-16 units is at most 3n UTF-8 bytes: only count when it could be over.
  const size = typeof data === 'string' && data.length * 3 <= maxBytes ? 0 : byteLength(data);
  if (size > maxBytes) throw new ProtocolError(ErrorCode.TooLarge, `frame is ${size} bytes, limit is ${maxBytes}`);

  // Invalid UTF-8 is an E_JSON error, never silently replaced characters.
  if (typeof data !== 'string' && !isUtf8(data)) throw new ProtocolError(ErrorCode.Json, 'frame is not valid UTF-8');
  let value: unknown;
  // JSON.parse's SyntaxError for a peer's garbage needs no stack trace either (see ProtocolError).
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    value = JSON.parse(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch (err) {
    throw new ProtocolError(ErrorCode.Json, `frame is not valid JSON: ${(err as Error).message}`);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  if (!isJsonObject(value)) throw new ProtocolError(ErrorCode.Shape, 'frame must be a JSON object');
  if (value.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(ErrorCode.Version, `unsupported protocol version ${JSON.stringify(value.v ?? null)}, this peer speaks ${PROTOCOL_VERSION}`);
  }
  const type = value.t;
  if (typeof type !== 'string' || !Object.hasOwn(FRAME_SCHEMAS, type)) {
    throw new ProtocolError(ErrorCode.Type, `unknown frame type ${JSON.stringify(type ?? null)}`);
  }
  if (options.accept && !options.accept.includes(type as FrameType)) {
    throw new ProtocolError(ErrorCode.Type, `frame type "${type}" is not accepted from this peer`);
  }
  const result = FRAME_SCHEMAS[type as FrameType].safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue && issue.path.length > 0 ? issue.path.join('.') : '(frame)';
    throw new ProtocolError(ErrorCode.Shape, `invalid ${type} frame at ${path}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data as Frame;
}

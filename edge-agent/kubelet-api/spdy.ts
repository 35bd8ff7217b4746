/**
 * The server side of SPDY/3.1 as Kubernetes streaming clients speak it (moby/spdystream, which
 * client-go uses for port-forward and as exec's fallback): the client opens streams with
 * SYN_STREAM carrying a few headers (streamtype, port, requestid), the server answers each with
 * an empty SYN_REPLY, and DATA frames flow both ways until each side sends FIN. spdystream does
 * no SPDY flow control (it never sends or reads WINDOW_UPDATE), so neither does this: the byte
 * stream underneath (TCP, or the WebSocket tunnel) is the backpressure. PING is echoed, SETTINGS,
 * HEADERS and WINDOW_UPDATE are ignored, GOAWAY ends the session. Header blocks are zlib
 * streams primed with the SPDY/3 dictionary, one context per direction for the whole session.
 *
 * npm's spdy-transport was tried first: its parser refuses a SYN_STREAM without `:method` and
 * `:path` (it serves HTTP over SPDY), which is every stream spdystream opens.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './spdy-dictionary.js';

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const FLAG_FIN = 0x01;
/** A frame longer than this ends the session (spdystream sends at most 32 KiB of data per frame). */
const MAX_FRAME = 1024 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_DATA_FRAME = 32 * 1024;

/** Runs async steps one after another (header contexts are sequential). */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(step: () => Promise<T> | T): Promise<T> {
    const next = this.tail.then(step);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

function zlibStep(stream: zlib.Inflate | zlib.Deflate, input: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(new Error(`SPDY header block over ${limit} bytes`));
      parts.push(chunk);
    };
    const fail = (err: Error) => {
      stream.off('data', onData);
      reject(err);
    };
    stream.on('data', onData);
    stream.once('error', fail);
    stream.write(input);
    stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      stream.off('error', fail);
      resolve(Buffer.concat(parts));
    });
  });
}

export class SpdyStream extends Duplex {
  private replied: Promise<void> | undefined;

  constructor(
    readonly id: number,
    readonly headers: Record<string, string>,
    private readonly session: SpdySession,
  ) {
    super({ allowHalfOpen: true });
  }

  /** The empty SYN_REPLY that accepts the stream; data written before it waits for it. */
  reply(): Promise<void> {
    this.replied ??= this.session.sendReply(this.id);
    return this.replied;
  }

  override _read(): void {
    this.session.resumeInput();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.reply()
      .then(() => this.session.sendData(this.id, chunk, false))
      .then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.reply()
      .then(() => this.session.sendData(this.id, Buffer.alloc(0), true))
      .then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.session.forget(this.id, error !== null);
    callback(error);
  }
}

/** One SPDY session over `socket`; emits 'stream' (SpdyStream) for each stream the client opens, 'close' once. */
export class SpdySession extends EventEmitter {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  private readonly inbound = new Serial();
  private readonly outbound = new Serial();
  private buffered: Buffer = Buffer.alloc(0);
  private closed = false;

  constructor(
    private readonly socket: Duplex,
    private readonly maxStreams = 64,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    socket.on('end', () => this.close());
  }

  get streamCount(): number {
    return this.streams.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.streams.values()) stream.destroy();
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.socket.destroy();
    this.emit('close');
  }

  /** Resolves once every frame queued so far has been handed to the socket. */
  drain(): Promise<void> {
    return this.outbound.run(() => undefined);
  }

  /** Ends the session after what is queued has been sent (close() discards it). */
  async shutdown(): Promise<void> {
    await this.drain();
    if (this.closed) return;
    this.socket.end();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.close();
  }

  resumeInput(): void {
    if (!this.closed) this.socket.resume();
  }

  forget(id: number, reset: boolean): void {
    const known = this.streams.delete(id);
    // The socket may be paused for this stream's full buffer: with the stream gone, the others' data flows again.
    this.resumeInput();
    if (!known || !reset || this.closed) return;
    // CANCEL (5): the server gave up on the stream.
    const frame = control(RST_STREAM, 0, u32(id, 5));
    void this.outbound.run(() => this.write(frame));
  }

  sendReply(id: number): Promise<void> {
    return this.outbound.run(async () => {
      const block = await zlibStep(this.deflate, u32(0), MAX_HEADER_BYTES);
      const body = Buffer.alloc(4);
      body.writeUInt32BE(id & 0x7fffffff, 0);
      await this.write(control(SYN_REPLY, 0, Buffer.concat([body, block])));
    });
  }

  sendData(id: number, data: Buffer, fin: boolean): Promise<void> {
    return this.outbound.run(async () => {
      for (let offset = 0; offset < data.length || (fin && offset === 0); offset += MAX_DATA_FRAME) {
        const part = data.subarray(offset, offset + MAX_DATA_FRAME);
        const last = offset + MAX_DATA_FRAME >= data.length;
        const header = Buffer.alloc(8);
        header.writeUInt32BE(id & 0x7fffffff, 0);
        header.writeUInt32BE(((fin && last ? FLAG_FIN : 0) << 24) | part.length, 4);
        await this.write(Buffer.concat([header, part]));
        if (data.length === 0) break;
      }
    });
  }

  private write(bytes: Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.reject(new Error('SPDY session closed'));
    return new Promise((resolve, reject) => {
      if (this.socket.write(bytes)) return resolve();
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        if (this.closed) reject(new Error('SPDY session closed'));
        else resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private onBytes(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 8 && !this.closed) {
      const length = this.buffered.readUInt32BE(4) & 0xffffff;
      if (length > MAX_FRAME) return this.close();
      if (this.buffered.length < 8 + length) break;
      const frame = this.buffered.subarray(0, 8 + length);
      this.buffered = this.buffered.subarray(8 + length);
      void this.inbound.run(() => this.onFrame(frame)).catch(() => this.close());
    }
  }

  private async onFrame(frame: Buffer): Promise<void> {
    if (this.closed) return;
    const flags = frame[4]!;
    const body = frame.subarray(8);
    if ((frame[0]! & 0x80) === 0) return this.onData(frame.readUInt32BE(0) & 0x7fffffff, flags, body);
    const type = frame.readUInt16BE(2);
    if (type === SYN_STREAM) {
      if (body.length < 10) throw new Error('short SYN_STREAM');
      const id = body.readUInt32BE(0) & 0x7fffffff;
      const headers = parseHeaderBlock(await zlibStep(this.inflate, body.subarray(10), MAX_HEADER_BYTES));
      if (id % 2 === 0 || this.streams.has(id) || this.streams.size >= this.maxStreams) {
        // A client stream id is odd and new; beyond the limit it is refused (REFUSED_STREAM 3).
        await this.outbound.run(() => this.write(control(RST_STREAM, 0, u32(id, 3))));
        return;
      }
      const stream = new SpdyStream(id, headers, this);
      this.streams.set(id, stream);
      if (flags & FLAG_FIN) stream.push(null);
      this.emit('stream', stream);
    } else if (type === SYN_REPLY) {
      await zlibStep(this.inflate, body.subarray(4), MAX_HEADER_BYTES); // keeps the context in step
    } else if (type === 8 /* HEADERS */) {
      await zlibStep(this.inflate, body.subarray(4), MAX_HEADER_BYTES);
    } else if (type === RST_STREAM && body.length >= 4) {
      const stream = this.streams.get(body.readUInt32BE(0) & 0x7fffffff);
      this.streams.delete(body.readUInt32BE(0) & 0x7fffffff);
      stream?.destroy();
    } else if (type === PING && body.length >= 4) {
      await this.outbound.run(() => this.write(frame));
    } else if (type === GOAWAY) {
      this.close();
    }
  }

  private onData(id: number, flags: number, data: Buffer): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    if (data.length > 0 && !stream.push(data)) this.socket.pause();
    if (flags & FLAG_FIN) stream.push(null);
  }
}

function u32(...values: number[]): Buffer {
  const buffer = Buffer.alloc(4 * values.length);
  values.forEach((value, index) => buffer.writeUInt32BE(value >>> 0, index * 4));
  return buffer;
}

function control(type: number, flags: number, body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(0x8000 | 3, 0);
  header.writeUInt16BE(type, 2);
  header.writeUInt32BE(((flags & 0xff) << 24) | body.length, 4);
  return Buffer.concat([header, body]);
}

/** A decompressed SPDY/3 header block: lower-case names; several values (NUL-separated) keep the first. */
export function parseHeaderBlock(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  if (block.length < 4) return headers;
  const count = block.readUInt32BE(0);
  let offset = 4;
  for (let i = 0; i < count && offset + 4 <= block.length; i++) {
    const nameLength = block.readUInt32BE(offset);
    const name = block.subarray(offset + 4, offset + 4 + nameLength).toString('utf8').toLowerCase();
    offset += 4 + nameLength;
    if (offset + 4 > block.length) break;
    const valueLength = block.readUInt32BE(offset);
    const value = block.subarray(offset + 4, offset + 4 + valueLength).toString('utf8');
    offset += 4 + valueLength;
    headers[name] = value.split('\0')[0] ?? '';
  }
  return headers;
}

/** A header block for a SYN_STREAM (client side; tests), before compression. */
export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(value);
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

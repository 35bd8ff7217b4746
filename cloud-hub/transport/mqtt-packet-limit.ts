/**
 * A size limit on the MQTT packets a peer sends, in front of the embedded broker. aedes reads a
 * whole packet into memory before it looks at it (up to MQTT's 256 MiB), so the limit has to
 * sit below it: this stream passes the socket's bytes through unchanged, reads only each
 * packet's fixed header (type byte and "remaining length"), and destroys the connection as soon
 * as a header announces a packet larger than the limit, before its body arrives.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** MQTT's own ceiling: a 4-byte remaining length (268,435,455) plus the fixed header. */
export const MQTT_MAX_PACKET_BYTES = 268_435_455 + 5;

export class PacketTooLargeError extends Error {
  constructor(readonly bytes: number, readonly limit: number) {
    super(`MQTT packet of ${bytes} bytes exceeds the limit of ${limit} bytes`);
    this.name = 'PacketTooLargeError';
  }
}

type State = 'type' | 'length' | 'body';

export class MqttPacketLimit extends Duplex {
  private state: State = 'type';
  private length = 0;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(
    private readonly socket: Socket,
    /** Largest packet accepted, fixed header included; raised for the hub once it authenticated. */
    public maxPacketBytes: number,
  ) {
    super({ allowHalfOpen: false });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.socket.write(chunk)) callback();
    else this.socket.once('drain', () => callback());
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    this.socket.cork();
    let flushed = true;
    for (const { chunk } of chunks) flushed = this.socket.write(chunk);
    this.socket.uncork();
    if (flushed) callback();
    else this.socket.once('drain', () => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.socket.end(() => callback());
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.socket.destroy();
    callback(err);
  }

  private onData(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'type') {
        at += 1;
        this.state = 'length';
        this.length = 0;
        this.lengthBytes = 0;
      } else if (this.state === 'length') {
        const byte = chunk[at++]!;
        this.length += (byte & 0x7f) * 128 ** this.lengthBytes;
        this.lengthBytes += 1;
        const packetBytes = 1 + this.lengthBytes + this.length;
        if (packetBytes > this.maxPacketBytes) {
          this.destroy(new PacketTooLargeError(packetBytes, this.maxPacketBytes));
          return;
        }
        if (byte & 0x80) {
          // A fifth length byte is malformed; the parser behind would refuse it too.
          if (this.lengthBytes === 4) {
            this.destroy(new Error('malformed MQTT remaining length'));
            return;
          }
          continue;
        }
        this.remaining = this.length;
        this.state = this.remaining > 0 ? 'body' : 'type';
      } else {
        const take = Math.min(this.remaining, chunk.length - at);
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'type';
      }
    }
    if (!this.push(chunk)) this.socket.pause();
  }
}

/**
 * Unauthenticated peers must cost the hub almost nothing. Every accepted TCP connection is
 * pending until it becomes an authenticated WebSocket: pending connections are capped in
 * total and per remote address (over a cap the socket is destroyed at once, before a byte is
 * read), and each one has a deadline, after which it is answered (when it is waiting for
 * authentication) or simply destroyed.
 */
import type { Socket } from 'node:net';

export type PendingRefusal = 'pending-total' | 'pending-address' | 'handshake-timeout';

export interface PendingLimits {
  /** 0: no cap. */
  max: number;
  /** 0: no cap. */
  maxPerAddress: number;
  deadlineMs: number;
}

interface Entry {
  address: string;
  /** Until released: the deadline, and the socket's 'close' listener that releases it. */
  timer?: NodeJS.Timeout;
  socket?: Socket;
  onClose?: () => void;
  released: boolean;
  /** Replaces destroying the socket at the deadline (an upgrade waiting for authentication answers instead). */
  onDeadline?: () => void;
}

export class PendingConnections {
  private total = 0;
  private readonly perAddress = new Map<string, number>();
  /** By `address|port`: the same for a TLS socket and the TCP socket under it. */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly limits: PendingLimits,
    private readonly refused: (reason: PendingRefusal, address: string) => void,
  ) {}

  get size(): number {
    return this.total;
  }

  /** A new TCP connection: false (and the socket destroyed) when it is over a cap. */
  admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '';
    const key = keyOf(socket);
    // A socket that is already gone (reset before it was accepted) has no peer to count.
    if (!address || !key) {
      socket.destroy();
      return false;
    }
    const { max, maxPerAddress, deadlineMs } = this.limits;
    const fromAddress = this.perAddress.get(address) ?? 0;
    const reason: PendingRefusal | undefined = max > 0 && this.total >= max ? 'pending-total' : maxPerAddress > 0 && fromAddress >= maxPerAddress ? 'pending-address' : undefined;
    if (reason) {
      socket.destroy();
      this.refused(reason, address);
      return false;
    }
    this.total += 1;
    this.perAddress.set(address, fromAddress + 1);
    const entry: Entry = {
      address,
      released: false,
      timer: setTimeout(() => {
        if (entry.released) return;
        this.refused('handshake-timeout', address);
        if (entry.onDeadline) entry.onDeadline();
        else socket.destroy();
        this.release(socket);
      }, deadlineMs),
    };
    entry.timer!.unref();
    this.entries.set(key, entry);
    entry.socket = socket;
    entry.onClose = () => this.releaseKey(key, entry);
    socket.once('close', entry.onClose);
    return true;
  }

  /** What to do at the deadline instead of destroying the socket (`socket` may be the TLS socket over it). */
  onDeadline(socket: Socket, action: () => void): void {
    const entry = this.entryOf(socket);
    if (entry) entry.onDeadline = action;
  }

  /** The connection is authenticated, or gone: it no longer counts. */
  release(socket: Socket): void {
    const key = keyOf(socket);
    const entry = key ? this.entries.get(key) : undefined;
    if (key && entry) this.releaseKey(key, entry);
  }

  /** True while `socket` counts as pending. */
  isPending(socket: Socket): boolean {
    return this.entryOf(socket) !== undefined;
  }

  private entryOf(socket: Socket): Entry | undefined {
    const key = keyOf(socket);
    return key ? this.entries.get(key) : undefined;
  }

  private releaseKey(key: string, entry: Entry): void {
    if (entry.released) return;
    entry.released = true;
    clearTimeout(entry.timer);
    // A live connection outlives its pending phase by days: keep nothing of it (the deadline
    // action holds the upgrade request, headers and all).
    if (entry.onClose) entry.socket?.off('close', entry.onClose);
    entry.timer = entry.socket = entry.onClose = entry.onDeadline = undefined;
    if (this.entries.get(key) === entry) this.entries.delete(key);
    this.total -= 1;
    const left = (this.perAddress.get(entry.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(entry.address, left);
    else this.perAddress.delete(entry.address);
  }
}

function keyOf(socket: Socket): string | undefined {
  const { remoteAddress, remotePort } = socket;
  return remoteAddress && remotePort ? `${remoteAddress}|${remotePort}` : undefined;
}

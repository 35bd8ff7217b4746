/**
 * Two byte streams joined both ways (a caller's upgraded socket and a tunnel, or two tunnels
 * between replicas) until either side closes, then both close. Closing the survivor has two
 * traps this avoids: destroying it at once drops what it still had to write (the last bytes of
 * an exec, its exit status), and merely ending it leaves a socket its peer can keep forever
 * (once the pipe into the closed side is gone, bytes the peer still sends sit unread, so its
 * FIN is never processed and the socket never closes). So the survivor's input is discarded,
 * its output flushed, and then it is destroyed; a peer that never reads what is left gets
 * `lingerMs`.
 */
import type { Duplex } from 'node:stream';

const NOTHING = Buffer.alloc(0);

/** Joins `a` and `b`; `headOfB` (bytes already read from `b`) is written to `a` first. */
export function splice(a: Duplex, b: Duplex, headOfB: Buffer = NOTHING, lingerMs = 30_000): void {
  if (a.destroyed || b.destroyed) {
    a.destroy();
    b.destroy();
    return;
  }
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.once('close', () => closeAfterFlush(b, lingerMs));
  b.once('close', () => closeAfterFlush(a, lingerMs));
  if (headOfB.length > 0) a.write(headOfB);
  b.pipe(a);
  a.pipe(b);
}

function closeAfterFlush(side: Duplex, lingerMs: number): void {
  if (side.destroyed) return;
  side.unpipe();
  side.resume();
  const timer = setTimeout(() => side.destroy(), lingerMs);
  timer.unref();
  side.once('close', () => clearTimeout(timer));
  side.end(() => side.destroy());
}

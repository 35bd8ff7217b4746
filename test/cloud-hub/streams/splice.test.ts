/** splice: what one side wrote before closing arrives whole, and the survivor always closes (over real TCP sockets where the kernel's part matters). */
import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { splice } from '../../../cloud-hub/streams/splice.js';
import { waitFor } from '../../helpers/wait.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/**
 * A front (whose accepted sockets are half-open capable, as an HTTP server's upgraded sockets
 * are) splicing each caller to an upstream server that `serve`s it; resolves with the port of
 * the front and a way to count the front's open caller sockets.
 */
async function front(serve: (socket: net.Socket) => void): Promise<{ port: number; open: () => number }> {
  const upstream = net.createServer(serve);
  const upstreamPort = await listen(upstream);
  const callers = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    callers.add(socket);
    socket.once('close', () => callers.delete(socket));
    socket.on('error', () => undefined);
    splice(socket, net.connect(upstreamPort, '127.0.0.1'));
  });
  cleanups.push(() => {
    for (const socket of callers) socket.destroy();
  });
  return { port: await listen(server), open: () => callers.size };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
    cleanups.push(() => socket.destroy());
  });
}

describe('splice', () => {
  it('closes the caller side even when the caller still sends after the upstream has gone', async () => {
    const { port, open } = await front((socket) => socket.end('bye\n'));
    const caller = await connect(port);
    let received = '';
    let closed = false;
    caller.on('data', (chunk: Buffer) => (received += chunk.toString()));
    caller.once('close', () => (closed = true));
    await new Promise((resolve) => caller.once('end', resolve));
    expect(received).toBe('bye\n');
    // What kubectl does after an exec's status: closing frames, then its FIN.
    caller.write(Buffer.alloc(64 * 1024, 1));
    caller.end();
    await waitFor(() => open() === 0 && closed, { what: 'the front to close the caller socket' });
  });

  it('delivers everything one side wrote before it closed to a side that writes slowly', async () => {
    const taken: Buffer[] = [];
    // Each write completes a turn of the event loop later, so writes queue up behind it.
    const slow = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        taken.push(chunk);
        setImmediate(callback);
      },
    });
    let slowClosed = false;
    slow.once('close', () => (slowClosed = true));
    const upstream = new PassThrough();
    splice(slow, upstream);
    for (let i = 0; i < 100; i++) upstream.write(Buffer.alloc(1024, i));
    upstream.end();
    await waitFor(() => slowClosed, { what: 'the slow side to close' });
    expect(upstream.destroyed).toBe(true);
    expect(Buffer.concat(taken).length).toBe(100 * 1024);
  });

  it('destroys the survivor after lingerMs when what it has left is never taken', async () => {
    // A side whose writes never complete: a peer that stopped reading.
    const stuck = new Duplex({ read() {}, write() {} });
    let stuckClosed = false;
    stuck.once('close', () => (stuckClosed = true));
    const upstream = new PassThrough();
    splice(stuck, upstream, undefined, 200);
    upstream.end('the last bytes');
    await waitFor(() => upstream.destroyed, { what: 'the upstream to close' });
    expect(stuckClosed).toBe(false);
    await waitFor(() => stuckClosed, { what: 'the stuck side to be destroyed after lingerMs' });
  });

  it('carries bytes both ways and closes the upstream when the caller closes', async () => {
    let upstreamClosed = false;
    const { port, open } = await front((socket) => {
      socket.on('data', (chunk: Buffer) => socket.write(chunk.toString().toUpperCase()));
      socket.once('close', () => (upstreamClosed = true));
    });
    const caller = await connect(port);
    let received = '';
    caller.on('data', (chunk: Buffer) => (received += chunk.toString()));
    caller.write('ping');
    await waitFor(() => received === 'PING', { what: 'the echo' });
    caller.destroy();
    await waitFor(() => upstreamClosed && open() === 0, { what: 'both sides to close' });
  });
});

/**
 * PendingConnections with real TCP sockets: a connection counts until it is released, and
 * once released (authenticated, its WebSocket adopted) it keeps nothing of its pending phase:
 * no 'close' listener, no deadline, no deadline action (which holds the upgrade request).
 * A live connection lives for days; at fleet scale what it keeps is paid once per node.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PendingConnections, type PendingRefusal } from '../../cloud-hub/transport/pending-connections.js';
import { waitFor } from '../helpers/wait.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup.splice(0)) step();
});

/** A listening server and one connected client: resolves with the server's side of the socket. */
async function acceptOne(): Promise<net.Socket> {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => undefined);
  const socket = await accepted;
  socket.on('error', () => undefined);
  cleanup.push(() => {
    client.destroy();
    socket.destroy();
    server.close();
  });
  return socket;
}

describe('PendingConnections', () => {
  it('a released connection keeps no close listener, deadline or deadline action', async () => {
    const refusals: PendingRefusal[] = [];
    const pending = new PendingConnections({ max: 10, maxPerAddress: 10, deadlineMs: 200 }, (reason) => refusals.push(reason));
    const socket = await acceptOne();
    const listenersBefore = socket.listenerCount('close');
    expect(pending.admit(socket)).toBe(true);
    expect(socket.listenerCount('close')).toBe(listenersBefore + 1);
    let deadlineActions = 0;
    pending.onDeadline(socket, () => (deadlineActions += 1));
    expect(pending.size).toBe(1);

    pending.release(socket);
    expect(pending.size).toBe(0);
    expect(pending.isPending(socket)).toBe(false);
    expect(socket.listenerCount('close')).toBe(listenersBefore);

    // Past the deadline (a lower bound: the timer was cleared, so nothing can fire later either).
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(deadlineActions).toBe(0);
    expect(refusals).toEqual([]);
    expect(socket.destroyed).toBe(false);
  });

  it('a pending connection that closes is released by its close listener; one that stays is timed out', async () => {
    const refusals: PendingRefusal[] = [];
    const pending = new PendingConnections({ max: 10, maxPerAddress: 10, deadlineMs: 300 }, (reason) => refusals.push(reason));
    const closing = await acceptOne();
    const staying = await acceptOne();
    expect(pending.admit(closing)).toBe(true);
    expect(pending.admit(staying)).toBe(true);
    expect(pending.size).toBe(2);
    closing.destroy();
    await waitFor(() => pending.size === 1, { timeoutMs: 5_000, what: 'closed socket released' });
    await waitFor(() => staying.destroyed, { timeoutMs: 5_000, what: 'silent socket destroyed at the deadline' });
    expect(pending.size).toBe(0);
    expect(refusals).toEqual(['handshake-timeout']);
  });
});

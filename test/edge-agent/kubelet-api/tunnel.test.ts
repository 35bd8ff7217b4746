/**
 * handleConnection: the hub's tunnel hands the server a plain byte stream (a Duplex, not a
 * net.Socket: no setTimeout, setNoDelay or address). Here a loopback listener wraps each TCP
 * connection in such a Duplex, so real clients exercise logs, exec and port-forward through it.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePod, sh } from '../runtime/helpers.js';
import { KubeletHarness, channelExec, get, waitText } from './helpers.js';

let h: KubeletHarness;
let tunnel: net.Server;
let url: string;

/** A Duplex over `socket` with nothing of net.Socket but the bytes. */
function plain(socket: net.Socket): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  socket.on('error', () => duplex.destroy());
  return duplex;
}

beforeAll(async () => {
  h = await new KubeletHarness().start();
  await h.run(makePod({ name: 'web', containers: [sh('main', 'echo through the tunnel; exec sleep 60')] }), 'main');
  tunnel = net.createServer((socket) => h.server.handleConnection(plain(socket)));
  await new Promise<void>((resolve) => tunnel.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(tunnel.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => tunnel?.close(resolve));
  await h?.stop();
});

describe('connections handed over as plain streams', () => {
  it('serve logs, exec over WebSocket and healthz', async () => {
    expect(await waitText(async () => (await get(`${url}/containerLogs/default/web/main`)).body, 'through')).toBe('through the tunnel\n');
    const result = await channelExec(`${url}/exec/default/web/main?command=sh&command=-c&command=cat%3B%20exit%202&input=1&output=1`, 'v5.channel.k8s.io', 'echoed\n');
    expect(result.stdout).toBe('echoed\n');
    expect(result.status).toMatchObject({ reason: 'NonZeroExitCode' });
    expect((await get(`${url}/healthz`)).body).toBe('ok\n');
  });
});

/**
 * The agent's tunnel dialer treats `tunnel` frames as hostile: it refuses ids that are not 128
 * bits of base64url, never dials more than its cap of open tunnels nor faster than its rate, and
 * dials only the stream URL it was configured with, at the tunnel path, with the node's token.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { TUNNEL_SUBPROTOCOL } from '../../../protocol/index.js';
import { TunnelDialer, tunnelMask } from '../../../edge-agent/link/tunnel-dialer.js';
import { waitFor } from '../../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A WebSocket server that records every dial and keeps the sockets open. */
async function recordingHub(): Promise<{ url: string; dials: { path: string; auth?: string; protocol?: string }[] }> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, handleProtocols: (protocols) => (protocols.has(TUNNEL_SUBPROTOCOL) ? TUNNEL_SUBPROTOCOL : false) });
  const dials: { path: string; auth?: string; protocol?: string }[] = [];
  wss.on('connection', (ws, req) => dials.push({ path: req.url ?? '', ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), protocol: ws.protocol }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const client of wss.clients) client.terminate();
    server.close(() => resolve());
  }));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, dials };
}

const id = (n: number): string => `${'A'.repeat(20)}${String(n).padStart(2, '0')}`;

describe('TunnelDialer', () => {
  it('dials the configured URL at the tunnel path with the token, and hands the stream to the kubelet API', async () => {
    const hub = await recordingHub();
    const handed: unknown[] = [];
    const dialer = new TunnelDialer({ streamUrl: hub.url, node: 'edge-1', token: 'secret', handler: { handleConnection: (socket) => handed.push(socket) }, logger: pino({ level: 'silent' }) });
    cleanups.push(() => dialer.stop());
    expect(dialer.dial(id(1), 'log')).toBeUndefined();
    await waitFor(() => handed.length === 1, { what: 'the stream handed over' });
    expect(hub.dials).toEqual([{ path: `/edge/v1/edge-1/tunnel/${id(1)}`, auth: 'Bearer secret', protocol: TUNNEL_SUBPROTOCOL }]);
  });

  it('refuses bad ids, more open tunnels than its cap, and dials over its rate', async () => {
    const hub = await recordingHub();
    const dialer = new TunnelDialer({ streamUrl: hub.url, node: 'edge-1', handler: { handleConnection: () => undefined }, logger: pino({ level: 'silent' }), maxOpen: 3, ratePerSecond: 1000 });
    cleanups.push(() => dialer.stop());
    for (const bad of ['', '../../x', `${id(1)}/..`, 'A'.repeat(21), 'A'.repeat(23), 'AAAAAAAAAAAAAAAAAAAA%2F']) expect(dialer.dial(bad)).toBe('bad-id');
    expect([1, 2, 3].map((n) => dialer.dial(id(n)))).toEqual([undefined, undefined, undefined]);
    expect(dialer.dial(id(4))).toBe('too-many-open');
    await waitFor(() => hub.dials.length === 3, { what: 'three dials' });
    expect(hub.dials).toHaveLength(3);

    const slow = new TunnelDialer({ streamUrl: hub.url, node: 'edge-1', handler: { handleConnection: () => undefined }, logger: pino({ level: 'silent' }), maxOpen: 100, ratePerSecond: 2 });
    cleanups.push(() => slow.stop());
    // A burst of the rate's size passes at once; the next dials in the same instant are refused.
    const results = Array.from({ length: 5 }, (_, n) => slow.dial(id(10 + n)));
    expect(results.filter((r) => r === undefined)).toHaveLength(2);
    expect(results.filter((r) => r === 'rate-limited')).toHaveLength(3);
  });

  it('masks tunnel frames with a zero key only under TLS (wss://), where nothing on the path reads them', () => {
    const zero = tunnelMask('wss://hub.example.com:8443');
    expect(zero).toBeTypeOf('function');
    const key = Buffer.from([1, 2, 3, 4]);
    zero!(key);
    expect([...key]).toEqual([0, 0, 0, 0]);
    expect(tunnelMask('WSS://hub.example.com')).toBeTypeOf('function');
    // Plain ws://: ws's own random key per frame (RFC 6455 10.3).
    expect(tunnelMask('ws://hub.example.com:8080')).toBeUndefined();
  });
});

#!/usr/bin/env node
/**
 * The baseline for fan-out benchmarks: a bare `ws` server that sends one payload to every
 * connected socket when asked (POST /broadcast?bytes=N). It does nothing else, so it is the
 * ceiling of what any WebSocket fan-out from one Node.js process can do here.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'POST' && url.pathname === '/broadcast') {
    const bytes = Number(url.searchParams.get('bytes') ?? '256');
    const payload = `{"v":1,"t":"sync","seq":1,"ops":[{"op":"patch","pad":"${'x'.repeat(Math.max(0, bytes - 50))}"}]}`;
    for (const client of wss.clients) client.send(payload);
    res.writeHead(200).end(String(wss.clients.size));
    return;
  }
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: 'ready', ws: `ws://127.0.0.1:${address.port}`, http: `http://127.0.0.1:${address.port}` })}\n`);
});
process.on('SIGTERM', () => process.exit(0));

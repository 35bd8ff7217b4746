/**
 * A hub that does only what the test tells it: a real ws server on a free port that records
 * every frame an agent sends and lets the test send anything back, valid or not.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { decode, encode, type CloudFrame, type EdgeFrame } from '../../protocol/index.js';
import { Waiters } from './wait.js';

export class ScriptedHub {
  readonly received: EdgeFrame[] = [];
  readonly connections: WebSocket[] = [];
  private readonly server = http.createServer();
  private readonly wss = new WebSocketServer({ server: this.server });
  private readonly waiters = new Waiters();
  url = '';

  async start(): Promise<this> {
    this.wss.on('connection', (ws) => {
      this.connections.push(ws);
      ws.on('message', (data: Buffer) => {
        this.received.push(decode(data) as EdgeFrame);
        this.wake();
      });
      ws.on('close', () => this.wake());
      this.wake();
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get current(): WebSocket | undefined {
    return this.connections.at(-1);
  }

  send(frame: CloudFrame | string): void {
    this.current?.send(typeof frame === 'string' ? frame : encode(frame));
  }

  welcome(hb = 5_000): void {
    this.send({ v: 1, t: 'welcome', hub: 'scripted', hb, max: 4 * 1024 * 1024, ts: Date.now() });
  }

  of<T extends EdgeFrame['t']>(t: T): Extract<EdgeFrame, { t: T }>[] {
    return this.received.filter((frame) => frame.t === t) as Extract<EdgeFrame, { t: T }>[];
  }

  waitUntil<T>(probe: () => T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
    return this.waiters.until(probe, timeoutMs, () => `scripted hub: timed out waiting for ${what}; received ${this.received.map((f) => f.t).join(',')}`);
  }

  async close(): Promise<void> {
    for (const ws of this.connections) ws.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private wake(): void {
    this.waiters.wake();
  }
}

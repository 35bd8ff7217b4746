/**
 * A protocol-speaking WebSocket client for hub tests: it sends what the test says (including
 * garbage), records every frame the hub sends, and can keep a cache the way an agent does so
 * tests can check convergence by digest.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { Waiters } from './wait.js';
import {
  EMPTY_DIGEST,
  cacheDigest,
  decode,
  encode,
  mergePatch,
  type CloudFrame,
  type Frame,
  type JsonObject,
  type NodeInfo,
  type SyncFrame,
} from '../../protocol/index.js';

export interface TestNodeOptions {
  /** Apply sync frames to `cache` and ack them (default true). */
  autoAck?: boolean;
  token?: string;
  /** CA of a wss:// hub. */
  ca?: string | Buffer;
}

export const TEST_NODE_INFO: NodeInfo = {
  arch: 'amd64',
  os: 'linux',
  kernel: '6.1.0',
  hostname: 'test',
  capacity: { cpu: '2', memory: '2Gi', pods: '110' },
  labels: { 'edge-sync.io/site': 'test' },
};

export class TestNode {
  readonly frames: CloudFrame[] = [];
  readonly cache = new Map<string, { rv: string; obj: JsonObject }>();
  readonly needs: string[] = [];
  closeCode?: number;
  /** When the hub's last WebSocket ping arrived (ws answers it with a pong at once). */
  lastPingAt?: number;
  private readonly waiters = new Waiters();
  autoAck: boolean;

  private constructor(
    readonly node: string,
    readonly ws: WebSocket,
    /** The connection under the WebSocket (the upgrade response's socket). */
    private readonly socket: Socket,
    options: TestNodeOptions,
  ) {
    this.autoAck = options.autoAck ?? true;
    ws.on('message', (data: Buffer) => {
      const frame = decode(data) as CloudFrame;
      this.frames.push(frame);
      if (frame.t === 'sync' && this.autoAck) this.applySync(frame);
      this.waiters.wake();
    });
    ws.on('ping', () => {
      this.lastPingAt = Date.now();
      this.waiters.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.waiters.wake();
    });
  }

  /** Opens a connection; rejects with the HTTP status when the hub refuses the upgrade. */
  static connect(hubUrl: string, node: string, options: TestNodeOptions = {}): Promise<TestNode> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${hubUrl}/edge/v1/${node}`, 'edge-sync.v1', {
        headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
        ...(options.ca ? { ca: options.ca } : {}),
      });
      let socket: Socket | undefined;
      ws.once('upgrade', (response) => (socket = response.socket));
      ws.once('open', () => resolve(new TestNode(node, ws, socket!, options)));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused with HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  /** Sends `hello` describing the current cache (or the given `have` list). */
  hello(have?: [string, string][], digest?: string): void {
    const entries = have ?? [...this.cache].map(([key, value]) => [key, value.rv] as [string, string]);
    this.send({
      v: 1,
      t: 'hello',
      node: this.node,
      agent: 'test',
      caps: [],
      info: TEST_NODE_INFO,
      digest: digest ?? (entries.length === 0 ? EMPTY_DIGEST : cacheDigest(entries)),
      have: entries,
    });
  }

  send(frame: Frame | string | Buffer): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : encode(frame));
  }

  digest(): string {
    return cacheDigest([...this.cache].map(([key, value]) => [key, value.rv] as const));
  }

  /** Applies a sync frame as an agent would and acks it. */
  applySync(frame: SyncFrame): void {
    for (const op of frame.ops) {
      const cached = this.cache.get(op.key);
      if (op.op === 'put') this.cache.set(op.key, { rv: op.rv, obj: op.obj });
      else if (op.op === 'del') this.cache.delete(op.key);
      else if (cached && cached.rv === op.baseRv) this.cache.set(op.key, { rv: op.rv, obj: mergePatch.apply(cached.obj, op.patch) as JsonObject });
      else if (cached?.rv !== op.rv) this.needs.push(op.key);
    }
    this.send({ v: 1, t: 'ack', seq: frame.seq });
  }

  /** Frames of type `t` received so far. */
  of<T extends CloudFrame['t']>(t: T): Extract<CloudFrame, { t: T }>[] {
    return this.frames.filter((frame) => frame.t === t) as Extract<CloudFrame, { t: T }>[];
  }

  /** Resolves with the first frame (already received or future) satisfying `predicate`. */
  waitForFrame<F extends CloudFrame>(predicate: (frame: CloudFrame) => frame is F, timeoutMs?: number, what?: string): Promise<F>;
  waitForFrame(predicate: (frame: CloudFrame) => boolean, timeoutMs?: number, what?: string): Promise<CloudFrame>;
  waitForFrame(predicate: (frame: CloudFrame) => boolean, timeoutMs = 20_000, what = 'frame'): Promise<CloudFrame> {
    return this.waitUntil(() => this.frames.find(predicate), timeoutMs, what);
  }

  /** Resolves when `probe` returns something truthy, re-checked on every frame and on close. */
  waitUntil<T>(probe: () => T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
    return this.waiters.until(probe, timeoutMs, () => `${this.node}: timed out after ${timeoutMs} ms waiting for ${what}; got ${this.frames.map((f) => f.t).join(',')}`);
  }

  /**
   * Stops reading the socket (ws's public `pause`): the hub's frames and pings wait in the
   * network unread, so its pings go unanswered, as with a peer that hangs.
   */
  stopReading(): void {
    this.ws.pause();
  }

  /** Writes bytes under the WebSocket's framing, for frames no WebSocket client would send. */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.ws.close();
  }
}

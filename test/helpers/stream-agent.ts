/**
 * An in-process agent for stream tests: the agent's own HubLink, SQLite store and TunnelDialer
 * against a real hub, with a small kubelet stand-in behind the tunnels (a real http.Server fed
 * through the same `handleConnection(socket)` interface as the agent's kubelet API): it answers
 * `/containerLogs/...` with lines the test writes (container `flood`: `limitBytes` bytes of
 * `floodByte(i)` as fast as the tunnel takes them, honouring back-pressure), echoes the bytes
 * of an upgraded `/exec/...` connection, and records every request it saw.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import { FullJitterBackoff } from '../../edge-agent/link/backoff.js';
import { HubLink } from '../../edge-agent/link/hub-link.js';
import { TunnelDialer } from '../../edge-agent/link/tunnel-dialer.js';
import { WsTransport } from '../../edge-agent/link/ws-transport.js';
import { openEdgeStore } from '../../edge-agent/store/index.js';
import { makeTempDir } from './tmp.js';

export interface StandInRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** Byte `i` of the `flood` container's log: a pattern in which a lost, doubled or reordered chunk shows. */
export function floodByte(i: number): number {
  return (i * 31 + (i >>> 16)) & 0xff;
}

/** The `flood` container's log from byte `from`, `length` bytes. */
export function floodBytes(from: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let k = 0; k < length; k++) out[k] = floodByte(from + k);
  return out;
}

/** What the stand-in's `flood` writer has done: bytes written so far, and whether it is waiting for 'drain'. */
export interface FloodState {
  written: number;
  waiting: boolean;
  done: boolean;
}

/** The kubelet stand-in: an http.Server that never listens, only serves handed-in streams. */
export class KubeletStandIn {
  readonly requests: StandInRequest[] = [];
  /** The last `flood` log served. */
  flood: FloodState | undefined;
  private readonly followers = new Set<http.ServerResponse>();
  private readonly server: http.Server;

  constructor(readonly node: string) {
    this.server = http.createServer((req, res) => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      if (req.url?.startsWith('/containerLogs/') && new URL(req.url, 'http://x').pathname.endsWith('/flood')) {
        this.serveFlood(res, Number(new URL(req.url, 'http://x').searchParams.get('limitBytes') ?? 0));
        return;
      }
      if (req.url?.startsWith('/containerLogs/')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write(`hello from ${this.node}\n`);
        if (new URL(req.url, 'http://x').searchParams.get('follow') === 'true') {
          this.followers.add(res);
          res.on('close', () => this.followers.delete(res));
        } else {
          res.end();
        }
        return;
      }
      res.writeHead(404).end('not served by the stand-in\n');
    });
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade ?? 'echo'}\r\n\r\n`);
      if (head.length > 0) socket.write(head);
      socket.pipe(socket);
    });
  }

  /** Writes `total` bytes of the flood pattern in 64 KiB chunks, each only once the last was taken (write() true or 'drain'). */
  private serveFlood(res: http.ServerResponse, total: number): void {
    const state: FloodState = { written: 0, waiting: false, done: false };
    this.flood = state;
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let closed = false;
    res.on('close', () => (closed = true));
    const pump = (): void => {
      state.waiting = false;
      while (!closed && state.written < total) {
        const chunk = floodBytes(state.written, Math.min(64 * 1024, total - state.written));
        state.written += chunk.length;
        if (!res.write(chunk)) {
          state.waiting = true;
          res.once('drain', pump);
          return;
        }
      }
      if (!closed) {
        state.done = true;
        res.end();
      }
    };
    pump();
  }

  /** Writes a line to every follower of the logs. */
  writeLine(line: string): number {
    for (const res of this.followers) res.write(`${line}\n`);
    return this.followers.size;
  }

  handleConnection(socket: Duplex): void {
    this.server.emit('connection', socket);
  }
}

export interface StreamAgent {
  link: HubLink;
  /** The agent's local cache: what sync delivered. */
  cache: ReturnType<typeof openEdgeStore>['cache'];
  kubelet: KubeletStandIn;
  dialer: TunnelDialer;
  stop(): void;
}

/** Connects node `node` to the hub at `hubUrl` with `token` (trusting `ca` for wss://); its tunnels are served by a stand-in (or `tunnels` instead). */
export function startStreamAgent(hubUrl: string, node: string, token: string, tunnels?: { dial(id: string, purpose?: string): string | undefined }, ca?: Buffer): StreamAgent {
  const dir = makeTempDir('edge-stream-agent-');
  const logger = pino({ level: 'silent' });
  const store = openEdgeStore({ dir: dir.path, logger });
  const kubelet = new KubeletStandIn(node);
  const dialer = new TunnelDialer({ streamUrl: hubUrl, node, token, handler: kubelet, logger, ...(ca ? { ca } : {}) });
  const link = new HubLink({
    node,
    agentVersion: 'test',
    nodeInfo: () => ({ arch: 'amd64', os: 'linux', capacity: { cpu: '1', memory: '1Gi', pods: '10' }, labels: {} }),
    cache: store.cache,
    transport: new WsTransport({ hubUrl, node, token, ...(ca ? { ca } : {}) }),
    logger,
    backoff: new FullJitterBackoff({ baseMs: 50, capMs: 200 }),
    tunnels: tunnels ?? dialer,
  });
  link.start();
  return {
    link,
    cache: store.cache,
    kubelet,
    dialer,
    stop: () => {
      link.stop();
      dialer.stop();
      store.close();
      dir.remove();
    },
  };
}

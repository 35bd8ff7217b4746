/**
 * An in-process agent for stream tests: the agent's own HubLink, SQLite store and TunnelDialer
 * against a real hub, with a small kubelet stand-in behind the tunnels (a real http.Server fed
 * through the same `handleConnection(socket)` interface as the agent's kubelet API): it answers
 * `/containerLogs/...` with lines the test writes, echoes the bytes of an upgraded `/exec/...`
 * connection, and records every request it saw.
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

/** The kubelet stand-in: an http.Server that never listens, only serves handed-in streams. */
export class KubeletStandIn {
  readonly requests: StandInRequest[] = [];
  private readonly followers = new Set<http.ServerResponse>();
  private readonly server: http.Server;

  constructor(readonly node: string) {
    this.server = http.createServer((req, res) => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
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
  kubelet: KubeletStandIn;
  dialer: TunnelDialer;
  stop(): void;
}

/** Connects node `node` to the hub at `hubUrl` with `token`; its tunnels are served by a stand-in (or `tunnels` instead). */
export function startStreamAgent(hubUrl: string, node: string, token: string, tunnels?: { dial(id: string, purpose?: string): string | undefined }): StreamAgent {
  const dir = makeTempDir('edge-stream-agent-');
  const logger = pino({ level: 'silent' });
  const store = openEdgeStore({ dir: dir.path, logger });
  const kubelet = new KubeletStandIn(node);
  const dialer = new TunnelDialer({ streamUrl: hubUrl, node, token, handler: kubelet, logger });
  const link = new HubLink({
    node,
    agentVersion: 'test',
    nodeInfo: () => ({ arch: 'amd64', os: 'linux', capacity: { cpu: '1', memory: '1Gi', pods: '10' }, labels: {} }),
    cache: store.cache,
    transport: new WsTransport({ hubUrl, node, token }),
    logger,
    backoff: new FullJitterBackoff({ baseMs: 50, capMs: 200 }),
    tunnels: tunnels ?? dialer,
  });
  link.start();
  return {
    link,
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

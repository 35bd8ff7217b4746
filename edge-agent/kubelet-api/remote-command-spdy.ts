/**
 * exec and attach over SPDY/3.1, the kubelet's `v4.channel.k8s.io` stream protocol: what
 * kube-apiserver speaks to a kubelet (it translates kubectl's WebSockets to it) and what clients
 * before kubectl 1.30 use. The client opens one stream per channel, each named by its
 * `streamtype` header (error, stdin, stdout, stderr, resize); once all the request asked for are
 * open the command runs; stdin ends when the client half-closes that stream; resize carries
 * `{"Width":w,"Height":h}` objects; the outcome is the same metav1.Status as over WebSocket,
 * written on the error stream, then everything is closed.
 */
import type { Duplex } from 'node:stream';
import type { ExecOptions, ExecSession } from '../runtime/runtime-streams.js';
import { exitStatus } from './remote-command.js';
import { SpdySession, type SpdyStream } from './spdy.js';

/** The SPDY stream protocols served, best first (the kubelet's remotecommand SPDY server offers v4 at best too). */
export const SPDY_COMMAND_PROTOCOLS = ['v4.channel.k8s.io'] as const;

/** How long the client may take to open the streams it asked for. */
const STREAMS_TIMEOUT_MS = 30_000;

/** Serves one command over `socket` (already upgraded); resolves when the session ends. */
export function serveSpdyCommand(socket: Duplex, options: ExecOptions, command: readonly string[], start: () => Promise<ExecSession | string>): Promise<void> {
  const session = new SpdySession(socket, 8);
  const wanted = new Set(['error', ...(options.stdin ? ['stdin'] : []), ...(options.stdout ? ['stdout'] : []), ...(options.stderr ? ['stderr'] : []), ...(options.tty ? ['resize'] : [])]);
  const streams = new Map<string, SpdyStream>();
  const closed = new Promise<void>((resolve) => session.once('close', resolve));
  let started = false;
  const timer = setTimeout(() => session.close(), STREAMS_TIMEOUT_MS);

  const finish = async (status: Record<string, unknown>): Promise<void> => {
    const error = streams.get('error');
    if (error) await new Promise<void>((resolve) => error.end(JSON.stringify(status), () => resolve()));
    for (const stream of streams.values()) if (!stream.writableEnded) stream.end();
    await session.shutdown();
  };

  const run = async (): Promise<void> => {
    const started = await start();
    if (typeof started === 'string') return finish({ metadata: {}, status: 'Failure', message: started, reason: 'BadRequest', code: 400 });
    const exec = started;
    session.once('close', () => exec.kill());
    const stdin = streams.get('stdin');
    if (stdin && exec.stdin) {
      stdin.pipe(exec.stdin);
    } else {
      stdin?.resume();
    }
    const resize = streams.get('resize');
    let pending = '';
    resize?.on('data', (chunk: Buffer) => {
      pending = (pending + chunk.toString('utf8')).slice(-4096);
      for (const match of pending.matchAll(/\{[^{}]*\}/g)) {
        try {
          const size = JSON.parse(match[0]) as { Width?: unknown; Height?: unknown };
          if (typeof size.Width === 'number' && typeof size.Height === 'number') exec.resize(size.Width, size.Height);
        } catch {
          // not a size: ignored
        }
      }
      pending = pending.slice(pending.lastIndexOf('}') + 1);
    });
    const outputs = (['stdout', 'stderr'] as const).map(
      (name) =>
        new Promise<void>((resolve) => {
          const source = exec[name];
          const target = streams.get(name);
          if (!source) return resolve();
          if (!target) {
            source.resume();
            return void source.once('end', resolve);
          }
          source.pipe(target, { end: false });
          source.once('end', resolve);
          source.once('error', () => resolve());
        }),
    );
    const result = await exec.exited;
    await Promise.all(outputs);
    await finish(exitStatus(result, command));
  };

  session.on('stream', (stream: SpdyStream) => {
    const type = stream.headers.streamtype ?? '';
    stream.on('error', () => undefined);
    void stream.reply().catch(() => undefined);
    if (!wanted.has(type) || streams.has(type) || started) {
      stream.destroy();
      return;
    }
    streams.set(type, stream);
    if (streams.size === wanted.size) {
      started = true;
      clearTimeout(timer);
      run().catch(() => session.close());
    }
  });
  return closed.then(() => clearTimeout(timer));
}

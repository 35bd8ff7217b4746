/**
 * exec and attach over WebSocket, the kubelet's channel protocols (k8s.io/apimachinery wsstream,
 * client-go's remotecommand): every binary message starts with its channel byte, 0 stdin, 1
 * stdout, 2 stderr, 3 error (the outcome as a metav1.Status JSON, v4 and later), 4 resize
 * (`{"Width":w,"Height":h}`); `v5.channel.k8s.io` adds channel 255, a client's "close this
 * channel" (`[255, 0]`: end of stdin). The server first sends an empty message on the lowest
 * channel it will write, as the kubelet does, then the command's output; once the command has
 * exited and its output is sent, the Status, then a normal close.
 *
 * Backpressure both ways: output is paused while more than a bounded amount is queued on the
 * socket, and the socket is paused while the command's stdin does not take more.
 */
import type { Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { ExecSession, ExitResult } from '../runtime/runtime-streams.js';

export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
export type ChannelProtocol = (typeof CHANNEL_PROTOCOLS)[number];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;
/** Output queued on the socket beyond which the command's output is paused. */
const HIGH_WATER = 1024 * 1024;

/** The outcome as the kubelet reports it on the error channel (metav1.Status; ExitCode cause for kubectl's exit code). */
export function exitStatus(result: ExitResult, command: readonly string[]): Record<string, unknown> {
  if (result.error !== undefined) {
    return { metadata: {}, status: 'Failure', message: `Internal error occurred: ${result.error}`, reason: 'InternalError', details: { causes: [{ message: result.error }] }, code: 500 };
  }
  if (result.exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${result.exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] },
  };
}

/** A Status for a request that could not start (container not running, ...): sent on the error channel. */
export function failureStatus(message: string): Record<string, unknown> {
  return { metadata: {}, status: 'Failure', message, reason: 'BadRequest', code: 400 };
}

export interface ChannelStreamOptions {
  protocol: ChannelProtocol;
  stdout: boolean;
  stderr: boolean;
  /** The command line, for the Status message. */
  command: readonly string[];
}

/** Runs `session` over `ws` until the command ends or the client goes; resolves then. */
export function serveChannels(ws: WebSocket, session: ExecSession, options: ChannelStreamOptions): Promise<void> {
  return new Promise((resolve) => {
    let queued = 0;
    const paused = new Set<Readable>();
    const send = (channel: number, data: Buffer, source?: Readable): void => {
      if (ws.readyState !== ws.OPEN) return;
      queued += data.length + 1;
      ws.send(Buffer.concat([Buffer.from([channel]), data]), () => {
        queued -= data.length + 1;
        if (queued < HIGH_WATER / 2) for (const stream of paused) stream.resume();
        if (queued < HIGH_WATER / 2) paused.clear();
      });
      if (source && queued > HIGH_WATER) {
        source.pause();
        paused.add(source);
      }
    };
    const outputs: Array<[Readable | undefined, number]> = [
      [session.stdout, STDOUT],
      [session.stderr, STDERR],
    ];
    const ended = outputs.map(
      ([stream, channel]) =>
        new Promise<void>((done) => {
          if (!stream) return done();
          stream.on('data', (chunk: Buffer) => send(channel, chunk, stream));
          stream.once('end', done);
          stream.once('close', done);
          stream.once('error', () => done());
        }),
    );
    // The kubelet's "connection established" signal: an empty frame on the lowest channel it writes.
    send(options.stdout ? STDOUT : options.stderr ? STDERR : ERROR, Buffer.alloc(0));

    ws.on('message', (raw: Buffer, isBinary: boolean) => {
      const data = isBinary ? raw : Buffer.from(raw);
      if (data.length === 0) return;
      const channel = data[0]!;
      const payload = data.subarray(1);
      if (channel === STDIN) {
        if (session.stdin && !session.stdin.writableEnded && !session.stdin.write(payload)) {
          ws.pause();
          session.stdin.once('drain', () => ws.resume());
        }
      } else if (channel === RESIZE) {
        try {
          const size = JSON.parse(payload.toString('utf8')) as { Width?: unknown; Height?: unknown };
          if (typeof size.Width === 'number' && typeof size.Height === 'number') session.resize(size.Width, size.Height);
        } catch {
          // not a size: ignored, as the kubelet logs and ignores it
        }
      } else if (channel === CLOSE && options.protocol === 'v5.channel.k8s.io' && payload[0] === STDIN) {
        session.stdin?.end();
      }
    });
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      resolve();
    };
    ws.once('close', () => {
      session.kill();
      finish();
    });
    ws.once('error', () => {
      session.kill();
      finish();
    });
    void session.exited.then(async (result) => {
      await Promise.all(ended);
      send(ERROR, Buffer.from(JSON.stringify(exitStatus(result, options.command))));
      if (ws.readyState === ws.OPEN) ws.close(1000);
      finish();
    });
  });
}

/** Refuses a stream on an open WebSocket the way the kubelet does once upgraded: a Status on the error channel, then close. */
export function refuseChannels(ws: WebSocket, message: string): void {
  ws.send(Buffer.concat([Buffer.from([ERROR]), Buffer.from(JSON.stringify(failureStatus(message)))]), () => ws.close(1000));
}

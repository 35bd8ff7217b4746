/** A KubeletApiServer over a real process runtime (test/edge-agent/runtime/helpers.ts), listening on loopback, and clients for it. */
import http from 'node:http';
import { WebSocket } from 'ws';
import type { JsonObject } from '../../../protocol/index.js';
import { KubeletApiServer } from '../../../edge-agent/kubelet-api/index.js';
import { ProcessStreams } from '../../../edge-agent/runtime/process-streams.js';
import { RuntimeStreamsRouter } from '../../../edge-agent/runtime/runtime-streams.js';
import { waitFor } from '../../helpers/wait.js';
import { Harness, NODE, keyOf, silentLogger } from '../runtime/helpers.js';

export class KubeletHarness {
  readonly runtime: Harness;
  readonly pods = new Map<string, JsonObject>();
  server!: KubeletApiServer;
  url = '';

  constructor(overrides: ConstructorParameters<typeof Harness>[0] = {}) {
    this.runtime = new Harness(overrides);
  }

  async start(maxStreams?: number): Promise<this> {
    await this.runtime.runtime.start();
    this.server = new KubeletApiServer({
      nodeName: NODE,
      getPod: (key) => this.pods.get(key),
      listPods: () => [...this.pods.values()],
      podStatus: (key) => this.runtime.runtime.podStatus(key),
      streams: new RuntimeStreamsRouter([new ProcessStreams({ dataDir: this.runtime.dataDir, runtime: this.runtime.runtime })]),
      logger: silentLogger(),
      ...(maxStreams ? { maxStreams } : {}),
    });
    this.url = await this.server.listen('127.0.0.1', 0);
    return this;
  }

  /** Runs the Pod and puts it in the "cache". */
  async run(pod: JsonObject, container: string): Promise<string> {
    const key = keyOf(pod);
    this.pods.set(key, pod);
    await this.runtime.runtime.syncPod(pod);
    await this.runtime.waitRunning(key, container);
    return key;
  }

  async stop(): Promise<void> {
    await this.server?.close();
    await this.runtime.cleanup();
  }
}

export async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** Reads a streaming response until `until` holds for what arrived, then aborts it. */
export async function readUntil(url: string, until: (text: string) => boolean, onStart?: () => void): Promise<string> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  onStart?.();
  const decoder = new TextDecoder();
  let text = '';
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text;
      text += decoder.decode(value, { stream: true });
      if (until(text)) return text;
    }
  } finally {
    controller.abort();
  }
}

export interface ChannelResult {
  stdout: string;
  stderr: string;
  status: Record<string, unknown> | undefined;
  protocol: string;
}

/** One exec/attach over the WebSocket channel protocol: sends `stdin` (then closes it, v5), collects the rest until the server closes. */
export function channelExec(url: string, protocol: string, stdin?: string, extra: Array<[number, Buffer]> = [], onOpen?: () => void): Promise<ChannelResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), [protocol]);
    const result: ChannelResult = { stdout: '', stderr: '', status: undefined, protocol: '' };
    ws.on('unexpected-response', (_req, res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => reject(new Error(`${res.statusCode}: ${body}`)));
    });
    ws.on('error', reject);
    ws.on('open', () => {
      result.protocol = ws.protocol;
      onOpen?.();
      for (const [channel, data] of extra) ws.send(Buffer.concat([Buffer.from([channel]), data]));
      if (stdin !== undefined) {
        ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(stdin)]));
        if (protocol === 'v5.channel.k8s.io') ws.send(Buffer.from([255, 0]));
      }
    });
    ws.on('message', (data: Buffer) => {
      const channel = data[0];
      const payload = data.subarray(1).toString('utf8');
      if (channel === 1) result.stdout += payload;
      if (channel === 2) result.stderr += payload;
      if (channel === 3 && payload) result.status = JSON.parse(payload) as Record<string, unknown>;
    });
    ws.on('close', () => resolve(result));
  });
}

export function waitText(probe: () => Promise<string>, text: string): Promise<string> {
  return waitFor(async () => {
    const body = await probe();
    return body.includes(text) ? body : undefined;
  }, { what: JSON.stringify(text) });
}

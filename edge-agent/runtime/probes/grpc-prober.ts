/**
 * grpc probes (the kubelet's prober/grpc): grpc.health.v1.Health/Check on host:port with the
 * spec's `service`, without TLS; SERVING is success. @grpc/grpc-js is imported only when a Pod
 * has a grpc probe. The two messages are tiny, so they are encoded here (field 1 of each:
 * `string service`, `enum status`) rather than through proto-loader.
 */
import type * as Grpc from '@grpc/grpc-js';
import type { Handler } from './probe-spec.js';
import { outcome, type ProbeOutcome } from './probe-result.js';

const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function encodeRequest(service: string): Buffer {
  const text = Buffer.from(service, 'utf8');
  if (text.length === 0) return Buffer.alloc(0);
  const length: number[] = [];
  let n = text.length;
  while (n > 0x7f) {
    length.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  length.push(n);
  return Buffer.concat([Buffer.from([0x0a, ...length]), text]);
}

/** The status field of a HealthCheckResponse (0 when absent); other fields are skipped. */
export function decodeStatus(bytes: Buffer): number {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (at >= bytes.length || shift > 28) throw new Error('bad HealthCheckResponse');
      const byte = bytes[at++]!;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
      shift += 7;
    }
  };
  let status = 0;
  while (at < bytes.length) {
    const tag = varint();
    const wire = tag & 7;
    if (tag >>> 3 === 1 && wire === 0) status = varint();
    else if (wire === 0) varint();
    else if (wire === 2) at += varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error('bad HealthCheckResponse');
  }
  return status;
}

export class GrpcProber {
  private grpc: Promise<typeof Grpc> | undefined;

  async probe(handler: Extract<Handler, { type: 'grpc' }>, host: string, timeoutMs: number, signal: AbortSignal): Promise<ProbeOutcome> {
    this.grpc ??= import('./grpc-js.js').then((loaded) => loaded.grpc);
    const grpc = await this.grpc;
    const target = `${host.includes(':') ? `[${host}]` : host}:${handler.port}`;
    const client = new grpc.Client(target, grpc.credentials.createInsecure());
    try {
      return await new Promise<ProbeOutcome>((resolve) => {
        const call = client.makeUnaryRequest(
          '/grpc.health.v1.Health/Check',
          (value: string) => encodeRequest(value),
          (bytes: Buffer) => decodeStatus(bytes),
          handler.service,
          { deadline: new Date(Date.now() + timeoutMs) },
          (err, status) => {
            if (err) resolve(outcome(false, `failed to connect service "${target}" within ${timeoutMs / 1000}s: ${err.details || err.message}`));
            else if (status === 1) resolve(outcome(true, `service ${target} ${STATUS[1]}`));
            else resolve(outcome(false, `service unhealthy (responded with "${STATUS[status ?? 0] ?? String(status)}")`));
          },
        );
        signal.addEventListener('abort', () => call.cancel());
      });
    } finally {
      client.close();
    }
  }
}

/**
 * The network probers against real servers on 127.0.0.1: grpc.health.v1.Health/Check on a
 * grpc-js server (SERVING, NOT_SERVING, the service name on the wire, a server that never
 * answers cut at the timeout), httpGet headers and status codes, tcpSocket on a closed port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../../protocol/index.js';
import { Prober } from '../../../../edge-agent/runtime/probes/prober.js';
import { containerProbes } from '../../../../edge-agent/runtime/probes/probe-spec.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const noExec = { host: '127.0.0.1', exec: async () => ({ exitCode: 1, output: 'no exec here' }) };

function handler(probe: JsonObject) {
  const problems: string[] = [];
  const spec = containerProbes({ name: 'c', readinessProbe: probe }, 'c', problems).readiness!;
  expect(problems).toEqual([]);
  return spec.handler;
}

/** HealthCheckResponse { status = 1 (SERVING) | 2 (NOT_SERVING) }, encoded by hand like the request. */
async function healthServer(statusFor: (service: string) => number | 'hang'): Promise<number> {
  const server = new grpc.Server();
  server.addService(
    {
      check: {
        path: '/grpc.health.v1.Health/Check',
        requestStream: false,
        responseStream: false,
        requestSerialize: (value: Buffer) => value,
        requestDeserialize: (bytes: Buffer) => bytes,
        responseSerialize: (value: Buffer) => value,
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    },
    {
      check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        // field 1, wire type 2: the service name
        const service = call.request.length > 2 ? call.request.subarray(2).toString('utf8') : '';
        const status = statusFor(service);
        if (status === 'hang') return;
        callback(null, Buffer.from([0x08, status]));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))));
  cleanups.push(() => void server.forceShutdown());
  return port;
}

describe('grpc prober', () => {
  it('is healthy on SERVING, unhealthy on NOT_SERVING, and sends the service name', async () => {
    const seen: string[] = [];
    const port = await healthServer((service) => {
      seen.push(service);
      return service === 'sick' ? 2 : 1;
    });
    const prober = new Prober();
    expect(await prober.run(handler({ grpc: { port } }), noExec, 2000)).toMatchObject({ ok: true });
    const sick = await prober.run(handler({ grpc: { port, service: 'sick' } }), noExec, 2000);
    expect(sick).toEqual({ ok: false, output: 'service unhealthy (responded with "NOT_SERVING")' });
    expect(seen).toEqual(['', 'sick']);
  });

  it('fails at the timeout against a server that never answers, and on a closed port', async () => {
    const port = await healthServer(() => 'hang');
    const prober = new Prober();
    const hung = await prober.run(handler({ grpc: { port } }), noExec, 500);
    expect(hung.ok).toBe(false);
    const closed = await prober.run(handler({ grpc: { port: 1 } }), noExec, 1000);
    expect(closed.ok).toBe(false);
  });
});

describe('http and tcp probers', () => {
  it('sends the spec headers and kube-probe user agent; 399 is success, 400 failure', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    let code = 399;
    const server = http.createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(code);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const spec = handler({ httpGet: { port, path: '/h?x=1', httpHeaders: [{ name: 'X-Probe', value: 'yes' }, { name: 'Host', value: 'app.local' }] } });
    const prober = new Prober();
    expect((await prober.run(spec, noExec, 2000)).ok).toBe(true);
    code = 400;
    expect(await prober.run(spec, noExec, 2000)).toEqual({ ok: false, output: 'HTTP probe failed with statuscode: 400' });
    expect(seen[0]).toMatchObject({ 'x-probe': 'yes', host: 'app.local' });
    expect(seen[0]!['user-agent']).toMatch(/^kube-probe\//);
  });

  it('fails a tcpSocket probe on a port nobody listens on', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const result = await new Prober().run(handler({ tcpSocket: { port } }), noExec, 1000);
    expect(result.ok).toBe(false);
    expect(result.output).toContain(`dial tcp 127.0.0.1:${port}`);
  });
});

/**
 * The local API against requests no well-behaved client sends: every one is answered with a
 * well-formed HTTP response carrying a Kubernetes Status, the server keeps serving, and what one
 * client can hold (watches, header bytes, time) is bounded. Plus the DNS-rebinding defence
 * (Host header) and the refusal to bind beyond loopback without --local-api-allow-remote.
 */
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalApiServer, RemoteBindRefusedError } from '../../../edge-agent/local-api/index.js';
import { BIN, run, startProcess } from '../../helpers/process.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { configMap, LocalApiFixture, quietLogger } from './helpers.js';
import { getRequest, rawRequest, type RawAnswer } from './raw-http.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fixture(options: Parameters<LocalApiFixture['startServer']>[0] = {}): Promise<LocalApiFixture> {
  const api = new LocalApiFixture();
  cleanups.push(() => api.close());
  api.put(configMap('app', { a: '1' }));
  await api.startServer(options);
  return api;
}

function expectStatus(answer: RawAnswer, code: number): Record<string, unknown> {
  expect(answer.status, answer.body).toBe(code);
  expect(answer.headers.get('content-type')).toBe('application/json');
  const status = JSON.parse(answer.body) as Record<string, unknown>;
  expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code });
  expect(typeof status.message).toBe('string');
  return status;
}

async function expectServing(api: LocalApiFixture): Promise<void> {
  const answer = await api.request('/api/v1/namespaces/default/configmaps/app');
  expect(answer.status).toBe(200);
  expect(answer.body.data).toEqual({ a: '1' });
}

describe('local API request targets', () => {
  it('answers paths that once threw out of the handler (///, //%, //[) and their relatives with a 404 Status', async () => {
    const api = await fixture();
    const targets = ['///', '//%', '//[', '//', '//a:b@c/api/v1/pods', '//host/api/v1/configmaps', '/%', '/api/v1/namespaces/%zz/configmaps', '/api/v1/namespaces/%2F/configmaps', '/api//v1', '/api/v1/namespaces/default/configmaps/app/..%2f..', '/%C3%A9t%C3%A9'];
    for (const target of targets) {
      const answer = await rawRequest(api.url, getRequest(target));
      expectStatus(answer, 404);
    }
    // Raw bytes Node's parser refuses in a request line: a 400 Status from the parser's error path.
    for (const target of ['/\u00e9t\u00e9', '/a b', '/\u0001']) expectStatus(await rawRequest(api.url, getRequest(target)), 400);
    await expectServing(api);
  });

  it('serves the absolute form and refuses the asterisk form with a 400 Status', async () => {
    const api = await fixture();
    const absolute = await rawRequest(api.url, getRequest(`${api.url}/api/v1/namespaces/default/configmaps/app`));
    expect(absolute.status).toBe(200);
    expect(JSON.parse(absolute.body).data).toEqual({ a: '1' });
    expectStatus(await rawRequest(api.url, getRequest('http://[/x')), 400);
    expectStatus(await rawRequest(api.url, Buffer.from('GET * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')), 400);
    await expectServing(api);
  });

  it('answers a request line or header Node cannot parse with a Status, and one too large with 431', async () => {
    const api = await fixture({ maxHeaderBytes: 4096 });
    expectStatus(await rawRequest(api.url, Buffer.from('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n')), 400);
    expectStatus(await rawRequest(api.url, Buffer.from('GARBAGE\r\n\r\n')), 400);
    expectStatus(await rawRequest(api.url, Buffer.from('GET /a\u0000b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')), 400);
    const long = await rawRequest(api.url, getRequest(`/api/v1/configmaps?labelSelector=${'a'.repeat(8000)}`));
    expect(expectStatus(long, 431).reason).toBe('RequestEntityTooLarge');
    const manyHeaders = await rawRequest(api.url, getRequest('/healthz', ['Host: 127.0.0.1', ...Array.from({ length: 200 }, (_, i) => `X-Filler-${i}: ${'x'.repeat(40)}`)]));
    expectStatus(manyHeaders, 431);
    await expectServing(api);
  });

  it('closes a connection whose headers do not arrive in time with a 408 Status', async () => {
    const api = await fixture({ headersTimeoutMs: 500, requestTimeoutMs: 1_000 });
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const url = new URL(api.url);
      const socket = connect(Number(url.port), url.hostname, () => socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"kind":"Status"');
    await expectServing(api);
  });

  it('refuses writes with 405 and closes a connection that carries a body instead of reading it', async () => {
    const api = await fixture();
    const answer = await rawRequest(api.url, Buffer.from('POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000\r\n\r\n{"partial":'), { untilClosed: true });
    const status = expectStatus(answer, 405);
    expect(status.reason).toBe('MethodNotAllowed');
    expect(answer.headers.get('connection')).toBe('close');
    expect(answer.closed).toBe(true);
    await expectServing(api);
  });
});

describe('local API Host header (DNS rebinding)', () => {
  it('answers loopback names and addresses, refuses any other name with a 403 Status', async () => {
    const api = await fixture();
    const port = new URL(api.url).port;
    for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}`, 'LOCALHOST.', `app.localhost:${port}`, `[::1]:${port}`, '127.1.2.3']) {
      const answer = await rawRequest(api.url, getRequest('/api/v1/namespaces/default/configmaps/app', [`Host: ${host}`]));
      expect(answer.status, host).toBe(200);
    }
    for (const host of [`evil.example:${port}`, 'evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', '10.1.2.3', '[::1', 'a b', `127.0.0.1:${port}:1`]) {
      const answer = await rawRequest(api.url, getRequest('/api/v1/namespaces/default/configmaps/app', [`Host: ${host}`]));
      const status = expectStatus(answer, 403);
      expect(status.reason).toBe('Forbidden');
      expect(String(status.message)).toMatch(/Host|host/);
      expect(answer.body).not.toContain('"data"');
    }
    // Also on paths that need no cache: nothing is served to a rebound name.
    expectStatus(await rawRequest(api.url, getRequest('/healthz', ['Host: evil.example'])), 403);
    await expectServing(api);
  });

  it('refuses to bind a non-loopback address unless allowRemote; with it, accepts the machine\'s addresses and still refuses other names', async () => {
    const api = new LocalApiFixture();
    cleanups.push(() => api.close());
    api.put(configMap('app', { a: '1' }));
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com']) {
      const server = new LocalApiServer({ readModel: api.cache, host, port: 0, serveSecrets: false, logger: quietLogger() });
      await expect(server.start(), host).rejects.toThrow(RemoteBindRefusedError);
      await expect(server.start(), host).rejects.toThrow(/--local-api-allow-remote/);
    }
    const { url } = await api.startServer({ host: '0.0.0.0', allowRemote: true });
    const port = new URL(url).port;
    const base = `http://127.0.0.1:${port}`;
    const external = Object.values(networkInterfaces())
      .flat()
      .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
    for (const host of ['127.0.0.1', `localhost:${port}`, ...(external ? [`${external}:${port}`] : [])]) {
      expect((await rawRequest(base, getRequest('/api/v1/namespaces/default/configmaps/app', [`Host: ${host}`]))).status, host).toBe(200);
    }
    expectStatus(await rawRequest(base, getRequest('/api/v1/namespaces/default/configmaps/app', ['Host: evil.example'])), 403);
  });
});

describe('local API limits', () => {
  it('serves at most maxWatches watches at once and answers one more with 429; a closed watch frees its place', async () => {
    const api = await fixture({ maxWatches: 2 });
    const first = api.watch('/api/v1/configmaps?watch=1');
    const second = api.watch('/api/v1/namespaces/default/configmaps?watch=1');
    await first.waitForEvents(1);
    await second.waitForEvents(1);
    expect(api.server.watchCount).toBe(2);
    const refused = await api.request('/api/v1/configmaps?watch=1');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429 });
    // Lists and gets are not watches: still served.
    await expectServing(api);
    first.close();
    await waitFor(() => api.server.watchCount === 1, { what: 'the closed watch to be released' });
    const third = api.watch('/api/v1/configmaps?watch=1');
    await third.waitForEvents(1);
    expect(third.statusCode).toBe(200);
  });
});

describe('the agent binary', () => {
  it('refuses --local-api on a non-loopback address without --local-api-allow-remote, naming the flag', async () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const refused = await run('node', [BIN.edgeAgent, '--node', 'edge-1', '--hub', 'ws://127.0.0.1:1', '--data', dir.path, '--local-api', '0.0.0.0:0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--local-api 0.0.0.0:0: not a loopback address');
    expect(refused.stderr).toContain('--local-api-allow-remote');
    const viaEnv = await run('node', [BIN.edgeAgent, '--node', 'edge-1', '--hub', 'ws://127.0.0.1:1', '--data', dir.path], { env: { EDGE_LOCAL_API: '[::]:0' } });
    expect(viaEnv.code).toBe(1);
    expect(viaEnv.stderr).toContain('--local-api-allow-remote');
    const help = await run('node', [BIN.edgeAgent, '--help']);
    expect(help.stdout).toContain('--local-api-allow-remote');
    const agent = await startProcess(BIN.edgeAgent, ['--node', 'edge-1', '--hub', 'ws://127.0.0.1:1', '--data', dir.path, '--local-api', '0.0.0.0:0', '--local-api-allow-remote']);
    cleanups.push(() => agent.stop());
    const localApi = agent.logs.find((line) => line.msg === 'ready')!.localApi as string;
    expect(localApi).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
  });

  it('a running agent answers ///, //% and //[ on its local API and keeps serving', async () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const agent = await startProcess(BIN.edgeAgent, ['--node', 'edge-1', '--hub', 'ws://127.0.0.1:1', '--data', dir.path, '--local-api', '127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    cleanups.push(() => agent.stop());
    const ready = agent.logs.find((line) => line.msg === 'ready')!;
    const localApi = ready.localApi as string;
    const metrics = ready.metrics as string;
    for (const target of ['///', '//%', '//[', '//%/..', '/api/v1/namespaces/%/pods']) {
      expectStatus(await rawRequest(localApi, getRequest(target)), 404);
      expect((await rawRequest(metrics, getRequest(target))).status).toBe(404);
    }
    expect((await rawRequest(metrics, Buffer.from('DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))).status).toBe(405);
    expect((await rawRequest(metrics, Buffer.from('GET /\u0000 HTTP/1.1\r\n\r\n'))).status).toBe(400);
    expect((await fetch(`${localApi}/api/v1/pods`)).status).toBe(200);
    expect((await fetch(`${metrics}/metrics`)).status).toBe(200);
    expect(agent.running).toBe(true);
  });
});

/**
 * Property: whatever a local client sends (path, query, method, headers), the local API answers
 * with a well-formed HTTP response, every refusal carries a Kubernetes Status whose code is the
 * HTTP status, and a good request still works afterwards. Real server, real cache, raw sockets
 * (an HTTP library would clean the request up first). Run counts are bounded so the file takes a
 * few seconds; a failure prints fast-check's seed and the shrunk request.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHttpEndpoints } from '../../../edge-agent/http-endpoints.js';
import { AgentMetrics } from '../../../edge-agent/metrics.js';
import { configMap, LocalApiFixture, pod, secret } from './helpers.js';
import { rawRequest, type RawAnswer } from './raw-http.js';

let api: LocalApiFixture;
let hostHeader = '';

beforeAll(async () => {
  api = new LocalApiFixture();
  api.put(configMap('app', { a: '1' }), pod('web-0'), secret('token', { t: 'x' }), configMap('other', { b: '2' }, 'kube-system'));
  // A low watch limit, so the fuzzer also meets the 429 path.
  await api.startServer({ maxWatches: 4, maxHeaderBytes: 8 * 1024 });
  hostHeader = new URL(api.url).host;
});

afterAll(async () => {
  await api?.close();
});

const segment = fc.oneof(
  fc.constantFrom('', 'api', 'v1', 'apis', 'version', 'healthz', 'namespaces', 'default', 'kube-system', 'pods', 'configmaps', 'secrets', 'nodes', 'watch', 'app', 'web-0', 'token'),
  fc.constantFrom('/', '//', '%', '%zz', '%2F', '%2f', '%00', '%ff', '%C3%A9', '[', ']', '..', '.', '@', ':', ';', '~', '*', '%%', '%2', '\\'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ minLength: 1000, maxLength: 3000 }),
);

/** Request-target bytes: no CR, LF or space, which would end the request line (headers are fuzzed apart). */
const target = fc
  .tuple(fc.constantFrom('/', '//', '///', ''), fc.array(fc.tuple(segment, fc.constantFrom('/', '/', '//')), { maxLength: 8 }), fc.constantFrom('', '/', '?', '#'))
  .map(([lead, segments, tail]) => `${lead}${segments.map(([text, separator], i) => (i === 0 ? text : `${separator}${text}`)).join('')}${tail}`.replace(/[\r\n ]/g, '_'));

const queryValue = fc.oneof(
  fc.constantFrom('', '0', '1', 'true', 'false', '-1', '1e9', '99999999999999999999', 'Exact', 'NotOlderThan', 'app=web', 'app in (web,db)', '!app', 'metadata.name=app', 'status.phase=Running', 'a==b,c!=d', 'Object', 'None', '%', '%zz', '(', '=', ','),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);
const queryName = fc.constantFrom('watch', 'resourceVersion', 'resourceVersionMatch', 'labelSelector', 'fieldSelector', 'timeoutSeconds', 'allowWatchBookmarks', 'sendInitialEvents', 'includeObject', 'limit', 'continue', 'x', '');
const query = fc.array(fc.tuple(queryName, queryValue, fc.boolean()), { maxLength: 6 }).map((pairs) =>
  pairs.length === 0 ? '' : `?${pairs.map(([name, value, encoded]) => `${name}=${encoded ? encodeURIComponent(value) : value}`).join('&').replace(/[\r\n ]/g, '+')}`,
);

const accept = fc.constantFrom(
  undefined,
  'application/json',
  'application/json;as=Table;g=meta.k8s.io;v=v1',
  'application/json;as=Table;g=meta.k8s.io;v=v1beta1, application/json',
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
  'application/vnd.kubernetes.protobuf',
  '*/*',
  ';;;,,,',
  'application/json;as=Table;g=meta.k8s.io;v=v9',
);
const method = fc.constantFrom('GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'BREW');
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/);
/** Visible ASCII and obs-text: what a header value may hold on the wire. */
const headerValue = fc.string({ maxLength: 200 }).map((value) => value.replace(/[\r\n\u0000]/g, ' '));
const hostChoice = fc.oneof(fc.constant('good'), fc.constant('good'), fc.constantFrom('evil.example', 'localhost', '[::1]', '127.0.0.1:1', 'a:b:c', ''), headerValue);

function sendsBody(methodName: string): boolean {
  return methodName === 'POST' || methodName === 'PUT' || methodName === 'PATCH';
}

function buildRequest(methodName: string, requestTarget: string, host: string, extra: Array<[string, string]>, acceptHeader: string | undefined): Buffer {
  const lines = [`${methodName} ${requestTarget} HTTP/1.1`, `Host: ${host === 'good' ? hostHeader : host}`];
  if (acceptHeader !== undefined) lines.push(`Accept: ${acceptHeader}`);
  for (const [name, value] of extra) lines.push(`${name}: ${value}`);
  if (sendsBody(methodName)) lines.push('Content-Length: 5');
  lines.push('Connection: close');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${sendsBody(methodName) ? '{"a":' : ''}`, 'utf8');
}

function checkAnswer(answer: RawAnswer, head: boolean): void {
  expect(answer.status).toBeGreaterThanOrEqual(200);
  expect(answer.status).toBeLessThan(600);
  if (answer.status < 400 || head) return;
  expect(answer.headers.get('content-type')).toBe('application/json');
  const status = JSON.parse(answer.body) as Record<string, unknown>;
  expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: answer.status });
  expect(typeof status.reason).toBe('string');
  expect(typeof status.message).toBe('string');
}

async function goodRequestWorks(): Promise<void> {
  const answer = await api.request('/api/v1/namespaces/default/configmaps/app');
  expect(answer.status).toBe(200);
  expect(answer.body.data).toEqual({ a: '1' });
}

describe('local API fuzz', () => {
  it('answers random paths and queries with well-formed responses and Status errors, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(method, target, query, accept, async (methodName, requestTarget, queryString, acceptHeader) => {
        const head = methodName === 'HEAD';
        const answer = await rawRequest(api.url, buildRequest(methodName, `${requestTarget.startsWith('/') ? '' : '/'}${requestTarget}${queryString}`, 'good', [], acceptHeader), { streamOk: true, head });
        checkAnswer(answer, head);
        await goodRequestWorks();
      }),
      { numRuns: 300 },
    );
    expect(api.server.watchCount).toBeLessThanOrEqual(4);
  });

  it('answers random request lines (raw bytes, absolute and odd forms) with well-formed responses', async () => {
    const rawTarget = fc.oneof(
      target,
      fc.string({ unit: 'binary', maxLength: 60 }).map((text) => text.replace(/[\r\n ]/g, '')),
      fc.constantFrom('*', 'http://[', 'http://x/api/v1/pods', 'https://127.0.0.1/healthz', 'example.com:443', 'HTTP://A//%', '//%', '//[', '///'),
    );
    await fc.assert(
      fc.asyncProperty(rawTarget, async (requestTarget) => {
        const answer = await rawRequest(api.url, buildRequest('GET', requestTarget, 'good', [], undefined), { streamOk: true });
        checkAnswer(answer, false);
        await goodRequestWorks();
      }),
      { numRuns: 200 },
    );
  });

  it('answers random headers (Host, Accept, many and large ones) with well-formed responses, and keeps serving', async () => {
    const extra = fc.array(fc.tuple(headerName, headerValue), { maxLength: 60 });
    const bigHeader = fc.option(fc.integer({ min: 4_000, max: 20_000 }).map((size) => ['X-Big', 'b'.repeat(size)] as [string, string]), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(method, hostChoice, extra, bigHeader, accept, async (methodName, host, headers, big, acceptHeader) => {
        const all = big ? [...headers, big] : headers;
        const head = methodName === 'HEAD';
        const answer = await rawRequest(api.url, buildRequest(methodName, '/api/v1/namespaces/default/configmaps?watch=0', host, all, acceptHeader), { streamOk: true, head });
        checkAnswer(answer, head);
        if (host !== 'good' && answer.status === 200) {
          // Only loopback names and addresses get data.
          expect(['localhost', '[::1]', '127.0.0.1:1']).toContain(host);
        }
        await goodRequestWorks();
      }),
      { numRuns: 200 },
    );
  });
});

describe('agent /metrics, /healthz, /readyz fuzz', () => {
  it('answers random request lines and headers with well-formed responses and keeps serving', async () => {
    const registry = new Registry();
    new AgentMetrics(registry, () => 0);
    const endpoints = new AgentHttpEndpoints(registry, () => true);
    const base = await endpoints.start('127.0.0.1', 0);
    try {
      const rawTarget = fc.oneof(target, fc.string({ unit: 'binary', maxLength: 60 }).map((text) => text.replace(/[\r\n ]/g, '')), fc.constantFrom('/metrics', '/healthz', '/readyz', '//%', '///', '*'));
      const extra = fc.array(fc.tuple(headerName, headerValue), { maxLength: 30 });
      await fc.assert(
        fc.asyncProperty(method, rawTarget, extra, async (methodName, requestTarget, headers) => {
          const head = methodName === 'HEAD';
          const answer = await rawRequest(base, buildRequest(methodName, requestTarget, 'x', headers, undefined), { head });
          expect(answer.status).toBeGreaterThanOrEqual(200);
          expect(answer.status).toBeLessThan(600);
          const healthz = await fetch(`${base}/healthz`);
          expect(healthz.status).toBe(200);
          expect(await healthz.text()).toBe('ok\n');
        }),
        { numRuns: 150 },
      );
      const metrics = await fetch(`${base}/metrics`);
      expect(await metrics.text()).toContain('edge_agent_hub_refused_total');
    } finally {
      await endpoints.close();
    }
  });
});

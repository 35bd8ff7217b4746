/**
 * httpGet probes and hooks (the kubelet's prober/http): GET scheme://host:port/path with the
 * spec's headers, `User-Agent: kube-probe/<version>` and `Accept: *\/*` unless given; a status
 * from 200 to 399 is success. HTTPS does not verify the certificate (as the kubelet). Redirects
 * are not followed: a 3xx is already a success. The body read is capped.
 */
import http from 'node:http';
import https from 'node:https';
import type { Handler } from './probe-spec.js';
import { outcome, type ProbeOutcome } from './probe-result.js';

const MAX_BODY = 10 * 1024;

export type HttpHandler = Extract<Handler, { type: 'httpGet' }>;

export function httpProbe(handler: HttpHandler, defaultHost: string, signal: AbortSignal): Promise<ProbeOutcome> {
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.29', Accept: '*/*' };
  let hostHeader: string | undefined;
  for (const header of handler.headers) {
    if (header.name.toLowerCase() === 'host') hostHeader = header.value;
    else headers[header.name] = header.value;
  }
  if (hostHeader !== undefined) headers.Host = hostHeader;
  const host = handler.host ?? defaultHost;
  const url = `${handler.scheme.toLowerCase()}://${host.includes(':') ? `[${host}]` : host}:${handler.port}${handler.path}`;
  const client = handler.scheme === 'HTTPS' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(url, { method: 'GET', headers, signal, rejectUnauthorized: false, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY) chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_BODY) response.destroy();
      });
      const done = () => {
        const code = response.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY);
        if (code >= 200 && code < 400) resolve(outcome(true, body));
        else resolve(outcome(false, `HTTP probe failed with statuscode: ${code}`));
      };
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    request.on('error', (err) => resolve(outcome(false, `Get "${url}": ${err.message}`)));
    request.end();
  });
}

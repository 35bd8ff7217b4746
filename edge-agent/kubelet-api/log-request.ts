/**
 * A container logs request as the kubelet (and the API server's pods/log) takes it: the query's
 * follow, tailLines, sinceSeconds | sinceTime, timestamps, previous, limitBytes, validated with
 * the API server's wording; and the answer, streamed with backpressure (log-reader.ts).
 */
import type { ServerResponse } from 'node:http';
import { writeLogs, type LogReadOptions } from '../runtime/log-reader.js';
import { StreamNotFoundError, StreamRequestError, type RuntimeStreams } from '../runtime/runtime-streams.js';

export interface LogRequest {
  options: LogReadOptions;
  previous: boolean;
}

/** Go's strconv.ParseBool, plus a bare `?follow` meaning true. */
function flag(query: URLSearchParams, name: string): boolean | string {
  const value = query.get(name);
  if (value === null) return false;
  if (['', '1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  return `${name}: Invalid value: ${JSON.stringify(value)}: expected a boolean`;
}

function integer(query: URLSearchParams, name: string, min: number): number | undefined | string {
  const value = query.get(name);
  if (value === null) return undefined;
  if (!/^-?\d{1,15}$/.test(value)) return `${name}: Invalid value: ${JSON.stringify(value)}: expected an integer`;
  const n = Number(value);
  if (n < min) return `${name}: Invalid value: ${n}: must be greater than${min === 0 ? ' or equal to 0' : ` ${min - 1}`}`;
  return n;
}

/** The request's options, or the message of a 400. */
export function parseLogRequest(query: URLSearchParams, now: number): LogRequest | string {
  const follow = flag(query, 'follow');
  const timestamps = flag(query, 'timestamps');
  const previous = flag(query, 'previous');
  for (const value of [follow, timestamps, previous]) if (typeof value === 'string') return value;
  const tailLines = integer(query, 'tailLines', 0);
  const limitBytes = integer(query, 'limitBytes', 1);
  const sinceSeconds = integer(query, 'sinceSeconds', 1);
  for (const value of [tailLines, limitBytes, sinceSeconds]) if (typeof value === 'string') return value;
  const sinceTimeText = query.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTimeText !== null) return 'at most one of `sinceTime` or `sinceSeconds` may be specified';
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = now - (sinceSeconds as number) * 1000;
  if (sinceTimeText !== null) {
    const parsed = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(sinceTimeText) ? Date.parse(sinceTimeText) : NaN;
    if (!Number.isFinite(parsed)) return `sinceTime: Invalid value: ${JSON.stringify(sinceTimeText)}: expected an RFC3339 time`;
    sinceMs = parsed;
  }
  return {
    previous: previous as boolean,
    options: {
      // The logs of a terminated instance are complete: nothing to follow.
      follow: (follow as boolean) && !(previous as boolean),
      timestamps: timestamps as boolean,
      ...(tailLines !== undefined ? { tailLines: tailLines as number } : {}),
      ...(limitBytes !== undefined ? { limitBytes: limitBytes as number } : {}),
      ...(sinceMs !== undefined ? { sinceMs } : {}),
    },
  };
}

/** Answers with the logs of `key`'s `container` (errors as the kubelet's text); resolves when the response is done. */
export async function serveContainerLogs(res: ServerResponse, streams: RuntimeStreams, key: string, container: string, query: URLSearchParams, now: number): Promise<void> {
  const request = parseLogRequest(query, now);
  if (typeof request === 'string') return answerText(res, 400, request);
  let selection;
  try {
    selection = await streams.logs(key, container, { previous: request.previous });
  } catch (err) {
    if (err instanceof StreamNotFoundError) return answerText(res, 404, err.message);
    if (err instanceof StreamRequestError) return answerText(res, 400, err.message);
    return answerText(res, 500, `failed to get container logs: ${(err as Error).message}`);
  }
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache' });
  // Headers out at once: a follower sees the response start before the first line.
  res.flushHeaders();
  try {
    await writeLogs(selection, request.options, res, abort.signal);
  } catch {
    // the file vanished (Pod deleted) or the client went: end what was sent
  }
  if (!res.writableEnded) res.end();
}

export function answerText(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = message.endsWith('\n') ? message : `${message}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
}

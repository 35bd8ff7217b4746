/**
 * Request bodies: reading one under the size limit and parsing it as JSON (or YAML, which kube
 * also accepts, or protobuf for the kinds kubectl's generators send). Which representation an
 * answer takes is protocol/kube/representation.ts, shared with the agent's local API.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { JsonValue } from '../../protocol/index.js';
import { statusErrors } from '../../protocol/kube/index.js';
import { decodeKubeProtobuf, PROTOBUF_MEDIA_TYPE } from './protobuf.js';

/** kube-apiserver's limit on request bodies. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Bodies up to this multiple of the limit are read to the end before the 413 is sent. */
const DRAIN_FACTOR = 8;

/**
 * Reads the whole body. A body over `limit` is a 413; it is still read to its end (and thrown
 * away) when it is at most DRAIN_FACTOR times the limit, so the client, which is usually still
 * sending, reads the answer instead of a broken pipe. Larger ones are refused at once.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const drainLimit = limit * DRAIN_FACTOR;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > drainLimit) return Promise.reject(statusErrors.requestEntityTooLarge(limit));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > drainLimit) {
        settled = true;
        chunks.length = 0;
        reject(statusErrors.requestEntityTooLarge(limit));
        return;
      }
      if (size <= limit) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      if (size > limit) reject(statusErrors.requestEntityTooLarge(limit));
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (settled) return;
      settled = true;
      reject(err);
    });
  });
}

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaTypeOf(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Parses a create/update body: JSON (the default), YAML, or Kubernetes protobuf for the kinds
 * kubectl's generator commands send (protobuf.ts); 400 BadRequest when it does not parse.
 */
export function parseObjectBody(body: Buffer, contentType: string | undefined): JsonValue {
  const mediaType = mediaTypeOf(contentType);
  if (mediaType === PROTOBUF_MEDIA_TYPE) return decodeKubeProtobuf(body);
  const text = body.toString('utf8');
  if (mediaType === 'application/yaml' || mediaType === 'application/x-yaml' || mediaType === 'text/yaml') {
    try {
      return parseYaml(text) as JsonValue;
    } catch (err) {
      throw statusErrors.badRequest(`error converting YAML to JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (mediaType !== '' && mediaType !== 'application/json' && mediaType !== '*/*') {
    throw statusErrors.unsupportedMediaType(mediaType, ['application/json', 'application/yaml']);
  }
  return parseJson(text);
}

export function parseJson(text: string): JsonValue {
  if (text.trim() === '') throw statusErrors.badRequest('the request body is empty; expected a JSON object');
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw statusErrors.badRequest(`couldn't get version/kind; json parse error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

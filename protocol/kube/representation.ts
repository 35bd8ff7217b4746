/**
 * Content negotiation: which form of an answer the client asked for in `Accept`. kubectl asks
 * for server-side Tables (`as=Table;g=meta.k8s.io;v=v1`, falling back to plain JSON);
 * metadata-only clients ask for `as=PartialObjectMetadata[List]`; everything else gets the
 * objects. Ranges are taken in the client's order and the first one served wins, as
 * kube-apiserver does; a client that accepts nothing served (protobuf only) gets 406.
 */
import { statusErrors } from './status.js';
import type { IncludeObject } from './table.js';

export type Representation = { as: 'object' } | { as: 'table'; apiVersion: string; includeObject: IncludeObject } | { as: 'metadata'; apiVersion: string };

const SERVED = ['application/json', 'application/json;as=Table;v=v1;g=meta.k8s.io', 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io'];
const JSON_RANGES = new Set(['application/json', 'application/*', '*/*']);

/** The representation for an `Accept` header; `includeObject` is the query parameter that says what a Table row embeds. Throws 406 or 400. */
export function negotiateRepresentation(accept: string | undefined, includeObject: string | null): Representation {
  if (accept === undefined || accept.trim() === '') return { as: 'object' };
  for (const part of accept.split(',')) {
    const [type = '', ...rawParams] = part.split(';').map((piece) => piece.trim());
    if (!JSON_RANGES.has(type.toLowerCase())) continue;
    const params = new Map<string, string>();
    for (const param of rawParams) {
      const eq = param.indexOf('=');
      if (eq > 0) params.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim());
    }
    const as = params.get('as');
    if (as === undefined) return { as: 'object' };
    const version = params.get('v');
    if (params.get('g') !== 'meta.k8s.io' || (version !== 'v1' && version !== 'v1beta1')) continue;
    const apiVersion = `meta.k8s.io/${version}`;
    if (as === 'Table') return { as: 'table', apiVersion, includeObject: parseIncludeObject(includeObject) };
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return { as: 'metadata', apiVersion };
  }
  throw statusErrors.notAcceptable(SERVED);
}

/** Table rows embed the object's metadata unless the client says otherwise (kube's default). */
function parseIncludeObject(value: string | null): IncludeObject {
  if (value === null || value === '' || value === 'Metadata') return 'Metadata';
  if (value === 'None' || value === 'Object') return value;
  throw statusErrors.badRequest(`includeObject: Unsupported value: "${value}": supported values: "None", "Metadata", "Object"`);
}

/** The Content-Type of an answer in this representation (`list`: a collection, or a watch stream of one). */
export function contentTypeOf(representation: Representation, list: boolean): string {
  if (representation.as === 'object') return 'application/json';
  const [group, version] = representation.apiVersion.split('/');
  const as = representation.as === 'table' ? 'Table' : list ? 'PartialObjectMetadataList' : 'PartialObjectMetadata';
  return `application/json;as=${as};g=${group ?? 'meta.k8s.io'};v=${version ?? 'v1'}`;
}

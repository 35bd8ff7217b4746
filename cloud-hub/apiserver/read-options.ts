/**
 * `resourceVersion`, `resourceVersionMatch`, `sendInitialEvents` and `continue` on reads, checked
 * as kube-apiserver checks them (apimachinery's ValidateListOptions: a 422 Invalid for
 * ListOptions.meta.k8s.io with kube's field errors), and what a resourceVersion means here:
 *
 * - get, and list with no match or NotOlderThan: '' and '0' read the current state; N reads the
 *   current state when the server has reached N, else 504 "Too large resource version".
 * - list with Exact: N must be the current resourceVersion (older snapshots are not kept: 410
 *   Expired, after which clients list again without one); a future N is a 504 as above.
 */
import { queryFlag, statusErrors, type FieldError } from '../../protocol/kube/index.js';

const LIST_OPTIONS = { group: 'meta.k8s.io', kind: 'ListOptions' };
const MATCH = 'resourceVersionMatch';

export interface ReadOptions {
  resourceVersion: string;
  match: '' | 'Exact' | 'NotOlderThan';
}

/** The read options of a list, watch or get; throws kube's 400/422 for a combination kube refuses. */
export function readOptionsOf(query: URLSearchParams, verb: 'list' | 'watch' | 'get'): ReadOptions {
  const resourceVersion = query.get('resourceVersion') ?? '';
  const match = query.get(MATCH) ?? '';
  const continueToken = query.get('continue') ?? '';
  const sendInitialEvents = queryFlag(query, 'sendInitialEvents');
  const errors: FieldError[] = [];
  if (verb === 'watch') {
    if (sendInitialEvents !== undefined && match !== 'NotOlderThan') {
      errors.push({ field: MATCH, type: 'Forbidden', detail: 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' });
    }
    if (match !== '') {
      if (sendInitialEvents === undefined) errors.push({ field: MATCH, type: 'Forbidden', detail: 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided' });
      if (match !== 'NotOlderThan') errors.push({ field: MATCH, type: 'Unsupported value', value: match, detail: 'supported values: "NotOlderThan"' });
      if (continueToken !== '') errors.push({ field: MATCH, type: 'Forbidden', detail: 'resourceVersionMatch is forbidden when continue is provided' });
    }
  } else if (verb === 'list') {
    if (match !== '') {
      if (resourceVersion === '') errors.push({ field: MATCH, type: 'Forbidden', detail: 'resourceVersionMatch is forbidden unless resourceVersion is provided' });
      if (continueToken !== '') errors.push({ field: MATCH, type: 'Forbidden', detail: 'resourceVersionMatch is forbidden when continue is provided' });
      if (match === 'Exact' && resourceVersion === '0') errors.push({ field: MATCH, type: 'Forbidden', detail: 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"' });
      if (match !== 'Exact' && match !== 'NotOlderThan') errors.push({ field: MATCH, type: 'Unsupported value', value: match, detail: 'supported values: "Exact", "NotOlderThan", ""' });
    }
    if (sendInitialEvents !== undefined) errors.push({ field: 'sendInitialEvents', type: 'Forbidden', detail: 'sendInitialEvents is forbidden for list' });
  }
  if (errors.length > 0) throw statusErrors.invalid(LIST_OPTIONS, '', errors);
  if (verb === 'list' && continueToken !== '' && resourceVersion !== '' && resourceVersion !== '0') {
    throw statusErrors.badRequest('specifying resource version is not allowed when using continue');
  }
  if (resourceVersion !== '' && !/^\d+$/.test(resourceVersion)) throw statusErrors.badRequest(`invalid resource version ${JSON.stringify(resourceVersion)}`);
  return { resourceVersion, match: match as ReadOptions['match'] };
}

/** Refuses a list or get at a resourceVersion this server cannot serve (see the file comment). */
export function checkReadableAt(options: ReadOptions, currentRv: number): void {
  if (options.resourceVersion === '' || options.resourceVersion === '0') return;
  const requested = Number(options.resourceVersion);
  if (requested > currentRv) throw statusErrors.tooLargeResourceVersion(requested, currentRv);
  if (options.match === 'Exact' && requested !== currentRv) {
    throw statusErrors.expired('The resourceVersion for the provided list is too old.');
  }
}

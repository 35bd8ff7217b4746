/**
 * What a write request says about field management: the manager (`fieldManager`, else kube's
 * default from the User-Agent), and for `application/apply-patch+yaml` the applied
 * configuration (YAML or JSON) and `force`.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { JsonValue } from '../../../protocol/index.js';
import { queryFlag, statusErrors } from '../../../protocol/kube/index.js';
import { managerFromUserAgent, MAX_FIELD_MANAGER_LENGTH } from './field-manager.js';

export const APPLY_PATCH_TYPE = 'application/apply-patch+yaml';

/** The manager a write is recorded under; a bad `fieldManager` is a 400. */
export function fieldManagerOf(req: IncomingMessage, query: URLSearchParams, required: boolean): string {
  const given = query.get('fieldManager');
  if (given === null || given === '') {
    if (required) throw statusErrors.badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be specified');
    return managerFromUserAgent(req.headers['user-agent']);
  }
  if (given.length > MAX_FIELD_MANAGER_LENGTH) throw statusErrors.badRequest(`fieldManager: Too long: may not be more than ${MAX_FIELD_MANAGER_LENGTH} bytes`);
  if (!/^[\x20-\x7e]+$/.test(given)) throw statusErrors.badRequest(`fieldManager: Invalid value: ${JSON.stringify(given)}: must only contain printable characters`);
  return given;
}

/** `force` of an apply (only apply takes it). */
export function applyForce(query: URLSearchParams, isApply: boolean): boolean {
  const force = queryFlag(query, 'force') === true;
  if (force && !isApply) throw statusErrors.badRequest('force: Invalid value: true: may not be specified for non-apply patch');
  return force;
}

/** The applied configuration: YAML (JSON is YAML too). */
export function parseApplyBody(body: Buffer): JsonValue {
  const text = body.toString('utf8');
  if (text.trim() === '') throw statusErrors.badRequest('the request body is empty; expected an applied configuration');
  try {
    return parseYaml(text) as JsonValue;
  } catch (err) {
    throw statusErrors.badRequest(`error decoding YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
}

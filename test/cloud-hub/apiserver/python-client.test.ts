/**
 * The official Python client (Debian's python3-kubernetes) against `cloud-hub --embedded`, through
 * the kubeconfig it writes: list, watch from a resourceVersion with bookmarks (the client sends
 * `watch=True`), 410 Gone and recovery, paging, the three patch types, the status subresource and
 * error Statuses. Each script (./python/) prints one JSON line that the test checks.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubHandle } from '../../helpers/hub.js';
import { run } from '../../helpers/process.js';
import { requirePythonModule } from '../../helpers/system-tools.js';

const PYTHON = requirePythonModule('kubernetes', 'python3-kubernetes');
const SCRIPTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python');
let hub: HubHandle;

beforeAll(async () => {
  // A short history so an old resourceVersion expires; frequent bookmarks so a watch sees some.
  hub = await startHub({ args: ['--api-history', '5', '--api-bookmark-interval', '200'] });
});

afterAll(async () => {
  await hub?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function script(name: string, namespace: string): Promise<Json> {
  const result = await run(PYTHON, [path.join(SCRIPTS, name), hub.kubeconfig, namespace], { cwd: SCRIPTS, timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`${name} exited ${String(result.code)}: ${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] as string) as Json;
}

describe('the official Python client', () => {
  it('lists, then watches from the list resourceVersion with bookmarks and sees every change once', async () => {
    const out = await script('list_watch.py', 'py-watch');
    expect(out.listed).toEqual(['before']);
    expect(out.events.map((e: string[]) => `${e[0]} ${e[1]}`)).toEqual(['ADDED during', 'MODIFIED during', 'DELETED during']);
    expect(out.events[1][3]).toBe('1');
    const rvs = out.events.map((e: string[]) => Number(e[2]));
    expect(rvs[0]).toBeGreaterThan(Number(out.listRv));
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    expect(out.bookmarks.length).toBeGreaterThan(0);
    expect(Number(out.watchRv)).toBe(rvs[2]);
  });

  it('gets 410 Gone for an expired resourceVersion and recovers by listing again', async () => {
    const out = await script('gone.py', 'py-gone');
    expect(out.unexpected).toBeUndefined();
    expect(out.status).toBe(410);
    expect(out.reason).toMatch(/^Expired: too old resource version: \d+ \(\d+\)$/);
    expect(out.recovered).toEqual(['ADDED', 'after']);
  });

  it('pages with limit and _continue, remaining_item_count counting down', async () => {
    const out = await script('paging.py', 'py-pages');
    expect(out.pages.map((p: Json) => p.names)).toEqual([
      ['page-0', 'page-1', 'page-2'],
      ['page-3', 'page-4', 'page-5'],
      ['page-6'],
    ]);
    expect(out.pages.map((p: Json) => p.remaining)).toEqual([4, 1, null]);
    // Every page is read at the first page's resourceVersion.
    expect(new Set(out.pages.map((p: Json) => p.rv)).size).toBe(1);
  });

  it('json, merge and strategic merge patches, and the status subresource', async () => {
    const out = await script('patches.py', 'py-patch');
    expect(out.jsonLabels).toEqual({ app: 'web', tier: 'back' });
    expect(out.mergedLabels).toEqual({ app: 'web', merged: 'yes' });
    expect(out.containers).toEqual([
      ['main', 'registry.example/app:2', ['A']],
      ['side', 'registry.example/side:1', []],
    ]);
    expect(out.statusPhase).toBe('Running');
    expect(out.podIP).toBe('10.0.0.9');
    expect(out.phaseAfterMainPatch).toBe('Running');
    expect(out.readStatusPhase).toBe('Running');
    expect(out.failedTest).toBe(422);
  });

  it('errors arrive as ApiException with a parseable Status: 404, 409 AlreadyExists, 409 Conflict, 422', async () => {
    const out = await script('errors.py', 'py-errors');
    expect(out.notFound).toMatchObject({ http: 404, kind: 'Status', reason: 'NotFound', message: 'configmaps "missing" not found', details: { name: 'missing', kind: 'configmaps' } });
    expect(out.alreadyExists).toMatchObject({ http: 409, reason: 'AlreadyExists', message: 'configmaps "twice" already exists' });
    expect(out.conflict).toMatchObject({ http: 409, reason: 'Conflict' });
    expect(out.conflict.message).toContain('the object has been modified');
    expect(out.invalid).toMatchObject({ http: 422, reason: 'Invalid', details: { name: 'Not_A_Name', kind: 'ConfigMap' } });
    expect(out.invalid.details.causes[0]).toMatchObject({ reason: 'FieldValueInvalid', field: 'metadata.name' });
    expect(out.deleted).toBe('Success');
  });
});

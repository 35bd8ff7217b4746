/**
 * The runtime never writes or deletes outside its directories, whatever a Pod (or a ConfigMap,
 * a Secret, or a state file left on disk) says: every member of the path-traversal family is
 * refused before anything is created, and a workload's symlink cannot lead a subPath out.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { PodValidationError, podProblems } from '../../../edge-agent/runtime/pod-validation.js';
import { UnsafePathError, resolvesWithin, safeJoin } from '../../../edge-agent/runtime/safe-path.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { Harness, configMap, keyOf, makePod, secret, sh } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A parent directory holding the runtime's data dir and a victim directory next to it. */
async function setup(objects: JsonObject[] = []) {
  const parent = makeTempDir('edge-escape-');
  const dataDir = path.join(parent.path, 'data');
  const victim = path.join(parent.path, 'victim');
  mkdirSync(victim);
  writeFileSync(path.join(victim, 'precious'), 'keep me');
  const harness = new Harness({ dataDir }, objects);
  cleanups.push(() => parent.remove(), () => harness.cleanup());
  await harness.runtime.start();
  const untouched = () => {
    expect(readdirSync(parent.path).sort()).toEqual(['data', 'victim']);
    expect(readdirSync(victim)).toEqual(['precious']);
    expect(readFileSync(path.join(victim, 'precious'), 'utf8')).toBe('keep me');
  };
  return { harness, dataDir, victim, parent: parent.path, untouched };
}

const base = () => makePod({ name: 'p', containers: [sh('main', 'sleep 60')] });

function withMeta(patch: JsonObject): JsonObject {
  const pod = base();
  pod.metadata = { ...(pod.metadata as JsonObject), ...patch };
  return pod;
}

function withSpec(patch: (spec: JsonObject) => void): JsonObject {
  const pod = base();
  patch(pod.spec as JsonObject);
  return pod;
}

/** Each a hostile Pod whose names, used as paths, would leave the data directory. */
const HOSTILE: [string, JsonObject, RegExp][] = [
  ['namespace climbing out', withMeta({ namespace: '../../victim' }), /metadata\.namespace: Invalid value: "\.\.\/\.\.\/victim"/],
  ['namespace with a slash', withMeta({ namespace: 'a/b' }), /metadata\.namespace/],
  ['name climbing out', withMeta({ name: '../victim' }), /metadata\.name/],
  ['uid climbing out', withMeta({ uid: '../../../victim' }), /metadata\.uid/],
  ['absolute uid', withMeta({ uid: '/etc' }), /metadata\.uid/],
  ['uid that is ..', withMeta({ uid: '..' }), /metadata\.uid/],
  ['container name climbing out', withSpec((spec) => (spec.containers = [sh('../../../victim/c', 'true')])), /spec\.containers\[0\]\.name/],
  ['init container name with a slash', withSpec((spec) => (spec.initContainers = [sh('a/b', 'true')])), /spec\.initContainers\[0\]\.name/],
  ['volume name climbing out', withSpec((spec) => (spec.volumes = [{ name: '../../../../victim', emptyDir: {} }])), /spec\.volumes\[0\]\.name/],
  ['item path climbing out', withSpec((spec) => (spec.volumes = [{ name: 'v', configMap: { name: 'cfg', items: [{ key: 'k', path: '../../../victim/x' }] } }])), /items\[0\]\.path/],
  ['absolute item path', withSpec((spec) => (spec.volumes = [{ name: 'v', secret: { secretName: 's', items: [{ key: 'k', path: '/etc/x' }] } }])), /items\[0\]\.path/],
  ['item key with a slash', withSpec((spec) => (spec.volumes = [{ name: 'v', configMap: { name: 'cfg', items: [{ key: '../k', path: 'k' }] } }])), /items\[0\]\.key/],
  ['projected item path climbing out', withSpec((spec) => (spec.volumes = [{ name: 'v', projected: { sources: [{ downwardAPI: { items: [{ path: '../x', fieldRef: { fieldPath: 'metadata.name' } }] } }] } }])), /sources\[0\]\.downwardAPI\.items\[0\]\.path/],
  [
    'subPath climbing out',
    withSpec((spec) => {
      spec.volumes = [{ name: 'v', emptyDir: {} }];
      spec.containers = [sh('main', 'true', { volumeMounts: [{ name: 'v', mountPath: '/v', subPath: '../../../../victim' }] })];
    }),
    /volumeMounts\[0\]\.subPath/,
  ],
  ['hostPath with ..', withSpec((spec) => (spec.volumes = [{ name: 'v', hostPath: { path: '/var/../etc' } }])), /hostPath\.path/],
  ['mode beyond 0777', withSpec((spec) => (spec.volumes = [{ name: 'v', configMap: { name: 'cfg', defaultMode: 0o4777 } }])), /defaultMode/],
];

describe('path safety', () => {
  it('safeJoin keeps every result strictly inside its root', () => {
    const root = '/var/lib/edge-agent/pods';
    expect(safeJoin(root, 'default_web_1', 'volumes', 'v')).toBe(`${root}/default_web_1/volumes/v`);
    expect(safeJoin(root, '..data')).toBe(`${root}/..data`);
    for (const parts of [['..'], ['../x'], ['a', '..', '..', 'x'], ['/etc'], [''], ['.'], ['a\u0000b'], ['a/../..']]) {
      expect(() => safeJoin(root, ...parts), JSON.stringify(parts)).toThrow(UnsafePathError);
    }
  });

  it('resolvesWithin follows symlinks, also of paths that do not exist yet', () => {
    const dir = makeTempDir('edge-resolve-');
    cleanups.push(() => dir.remove());
    mkdirSync(path.join(dir.path, 'vol'));
    symlinkSync('/etc', path.join(dir.path, 'vol', 'out'));
    expect(resolvesWithin(path.join(dir.path, 'vol'), path.join(dir.path, 'vol', 'a', 'b'))).toBe(true);
    expect(resolvesWithin(path.join(dir.path, 'vol'), path.join(dir.path, 'vol', 'out', 'new'))).toBe(false);
  });

  it.each(HOSTILE)('refuses a Pod with a %s before creating anything', async (_what, pod, problem) => {
    expect(podProblems(pod).join('\n')).toMatch(problem);
    const { harness, dataDir, untouched } = await setup([configMap('cfg', { k: 'v' }), secret('s', { k: 'v' })]);
    const attempt = harness.runtime.syncPod(pod);
    await expect(attempt).rejects.toThrow(PodValidationError);
    await expect(attempt).rejects.toThrow(problem);
    expect(harness.runtime.pods()).toEqual([]);
    expect(readdirSync(path.join(dataDir, 'pods'))).toEqual([]);
    untouched();
  });

  it('a body that does not match the key it was sent under is refused (it would pose as another Pod)', () => {
    expect(podProblems(base(), 'Pod/other/p').join()).toMatch(/do not match the key it was sent under/);
    expect(podProblems(base(), 'Pod/default/p')).toEqual([]);
  });

  it.each([
    ['a ConfigMap key climbing out', [configMap('bad', { '../../../../victim/x': 'owned', ok: 'fine' })], { configMap: { name: 'bad' } }, /configmap "bad" has an invalid key "\.\.\/\.\.\/\.\.\/\.\.\/victim\/x"/],
    ['a ConfigMap key with a slash', [configMap('bad', { 'a/b': 'x' })], { configMap: { name: 'bad' } }, /has an invalid key "a\/b"/],
    ['a ConfigMap key that is the writer\'s own ..data', [configMap('bad', { '..data': 'x' })], { configMap: { name: 'bad' } }, /has an invalid key "\.\.data"/],
    ['a Secret key climbing out', [secret('bad', { '../../victim': 'owned' })], { secret: { secretName: 'bad' } }, /secret "bad" has an invalid key/],
  ])('keeps a Pod waiting (FailedMount) when %s, and writes none of it', async (_what, objects, source, message) => {
    const { harness, untouched } = await setup(objects);
    const pod = makePod({ name: 'p', containers: [sh('main', 'sleep 60', { volumeMounts: [{ name: 'v', mountPath: '/v' }] })], volumes: [{ name: 'v', ...source }] });
    await harness.runtime.syncPod(pod);
    const waiting = await waitFor(() => (harness.container(keyOf(pod), 'main').state as JsonObject).waiting as JsonObject | undefined);
    expect(waiting.reason).toBe('ContainerCreating');
    expect(String(waiting.message)).toMatch(message);
    expect(harness.events.some((event) => event.reason === 'FailedMount' && message.test(event.message))).toBe(true);
    untouched();
  });

  it('does not adopt a state file whose Pod names lead outside, and never deletes through it', async () => {
    const { harness, dataDir, untouched, victim } = await setup();
    await harness.runtime.stop();
    // What an older agent could have written for a hostile Pod: a deletion under way, whose
    // directory (by its uid) is the victim.
    const entry = path.join(dataDir, 'pods', 'default_p_evil');
    mkdirSync(entry, { recursive: true });
    const pod = withMeta({ uid: '../../../victim' });
    writeFileSync(
      path.join(entry, 'state.json'),
      JSON.stringify({ version: 1, key: 'Pod/default/p', uid: '../../../victim', pod, firstSeen: 1, conditions: {}, containers: {}, deleting: { requestedAt: 1, deadline: 1 } }),
    );
    const next = harness.create();
    await next.start();
    expect(next.pods()).toEqual([]);
    untouched();
    expect(existsSync(victim)).toBe(true);
    // Left alone for an operator to look at, not deleted either.
    expect(existsSync(path.join(entry, 'state.json'))).toBe(true);
  });

  it('refuses a subPath that a workload\'s symlink in an emptyDir leads outside the volume', async () => {
    const { harness, victim, untouched } = await setup();
    const pod = makePod({
      name: 'p',
      restartPolicy: 'Never',
      initContainers: [sh('plant', `ln -s ${victim} "$EDGE_VOLUME_SCRATCH/esc"`, { volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] })],
      containers: [sh('main', 'sleep 60', { volumeMounts: [{ name: 'scratch', mountPath: '/x', subPath: 'esc/sub' }] })],
      volumes: [{ name: 'scratch', emptyDir: {} }],
    });
    await harness.runtime.syncPod(pod);
    const waiting = await waitFor(() => {
      const state = (harness.container(keyOf(pod), 'main').state as JsonObject).waiting as JsonObject | undefined;
      return state?.reason === 'CreateContainerConfigError' ? state : undefined;
    }, { what: 'main refused after the init container planted its symlink' });
    expect((harness.container(keyOf(pod), 'plant', true).state as JsonObject).terminated).toMatchObject({ exitCode: 0 });
    expect(String(waiting.message)).toMatch(/subPath "esc\/sub" resolves outside the volume/);
    untouched();
  });
});

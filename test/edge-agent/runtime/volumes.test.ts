/** Volume materialisation: every source kind, items/paths/modes, optional and missing, and the atomic update scheme. */
import { lstatSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { AtomicWriter, RECHECK_MS } from '../../../edge-agent/runtime/atomic-writer.js';
import { ReferencedObjects } from '../../../edge-agent/runtime/referenced-objects.js';
import { PodLayout } from '../../../edge-agent/runtime/pod-layout.js';
import { parsePod } from '../../../edge-agent/runtime/pod-spec.js';
import { VolumeManager } from '../../../edge-agent/runtime/volume-manager.js';
import { VolumePayloads } from '../../../edge-agent/runtime/volume-payload.js';
import { SecretVolumes } from '../../../edge-agent/runtime/secret-volumes.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { HOST_IP, MemoryLookup, configMap, makePod, makeSecretsDir, secret, silentLogger } from './helpers.js';

const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.remove();
});

function setup(objects: JsonObject[], now: () => number = Date.now) {
  const dir = makeTempDir('edge-volumes-');
  const secretsRoot = makeSecretsDir();
  dirs.push(dir, secretsRoot);
  const lookup = new MemoryLookup(objects);
  const objectsSource = new ReferencedObjects(lookup);
  const secrets = new SecretVolumes({ root: secretsRoot.path, dataDir: dir.path, logger: silentLogger() });
  const manager = new VolumeManager({ payloads: new VolumePayloads({ objects: objectsSource, hostIP: HOST_IP }), writer: new AtomicWriter(now), secrets });
  return { dir: dir.path, lookup, manager, secrets };
}

/** The files a reader sees in a volume directory (following the visible symlinks), with their modes. */
function visibleFiles(dir: string, prefix = ''): Record<string, { text: string; mode: string }> {
  const out: Record<string, { text: string; mode: string }> = {};
  for (const entry of readdirSync(path.join(dir, prefix))) {
    if (entry.startsWith('..')) continue;
    const relative = prefix ? `${prefix}/${entry}` : entry;
    const full = path.join(dir, relative);
    const stat = statSync(full);
    if (stat.isDirectory()) Object.assign(out, visibleFiles(dir, relative));
    else out[relative] = { text: readFileSync(full, 'utf8'), mode: (stat.mode & 0o777).toString(8) };
  }
  return out;
}

const objects = [
  configMap('cfg', { 'app.conf': 'port=80', other: 'o' }, { binaryData: { 'blob.bin': Buffer.from([0xff, 0x00, 0x41]).toString('base64') } }),
  secret('sec', { password: 'hunter2', user: 'admin' }),
];

const podMeta = { name: 'web', namespace: 'default', uid: 'uid-7', labels: { app: 'web', tier: 'front' }, annotations: { 'example.com/quote': 'say "hi"' } };

describe('VolumeManager.sync', () => {
  it.each<[string, JsonObject, Record<string, { text: string; mode: string }>]>([
    [
      'configMap: every key (data and binaryData)',
      { configMap: { name: 'cfg' } },
      { 'app.conf': { text: 'port=80', mode: '644' }, other: { text: 'o', mode: '644' }, 'blob.bin': { text: Buffer.from([0xff, 0x00, 0x41]).toString('utf8'), mode: '644' } },
    ],
    [
      'configMap: items with nested paths, item mode over defaultMode',
      { configMap: { name: 'cfg', defaultMode: 0o600, items: [{ key: 'app.conf', path: 'conf/app.conf', mode: 0o640 }, { key: 'other', path: 'o.txt' }] } },
      { 'conf/app.conf': { text: 'port=80', mode: '640' }, 'o.txt': { text: 'o', mode: '600' } },
    ],
    ['configMap: optional item key missing is skipped', { configMap: { name: 'cfg', optional: true, items: [{ key: 'nope', path: 'n' }, { key: 'other', path: 'o' }] } }, { o: { text: 'o', mode: '644' } }],
    ['configMap: optional and missing is an empty volume', { configMap: { name: 'nope', optional: true } }, {}],
    ['secret: decoded, defaultMode', { secret: { secretName: 'sec', defaultMode: 0o400 } }, { password: { text: 'hunter2', mode: '400' }, user: { text: 'admin', mode: '400' } }],
    // Secret files are 0400 whatever the default 0644 says: no write bit, nobody else.
    ['secret: items', { secret: { secretName: 'sec', items: [{ key: 'user', path: 'u' }] } }, { u: { text: 'admin', mode: '400' } }],
    [
      'downwardAPI: labels, annotations, name, namespace, uid',
      {
        downwardAPI: {
          items: [
            { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
            { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
            { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
            { path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' }, mode: 0o600 },
            { path: 'meta/uid', fieldRef: { fieldPath: 'metadata.uid' } },
          ],
        },
      },
      {
        labels: { text: 'app="web"\ntier="front"', mode: '644' },
        annotations: { text: 'example.com/quote="say \\"hi\\""', mode: '644' },
        name: { text: 'web', mode: '644' },
        ns: { text: 'default', mode: '600' },
        'meta/uid': { text: 'uid-7', mode: '644' },
      },
    ],
    [
      'projected: configMap, secret and downwardAPI together',
      {
        projected: {
          defaultMode: 0o440,
          sources: [
            { configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'app.conf' }] } },
            { secret: { name: 'sec', items: [{ key: 'password', path: 'creds/password', mode: 0o400 }] } },
            { downwardAPI: { items: [{ path: 'pod', fieldRef: { fieldPath: 'metadata.name' } }] } },
            { configMap: { name: 'nope', optional: true } },
          ],
        },
      },
      // With a Secret source the whole volume is a Secret volume: 0400 (0440 only with an fsGroup).
      { 'app.conf': { text: 'port=80', mode: '400' }, 'creds/password': { text: 'hunter2', mode: '400' }, pod: { text: 'web', mode: '400' } },
    ],
  ])('%s', (_name, source, want) => {
    const { dir, manager, secrets } = setup(objects);
    const pod = parsePod(makePod({ ...podMeta, containers: [{ name: 'c' }], volumes: [{ name: 'v', ...source }] }));
    const layout = PodLayout.forPod(dir, pod.namespace, pod.name, pod.uid, secrets.dir);
    const result = manager.sync(pod, layout);
    expect(result.blocking).toBeUndefined();
    const secretVolume = 'secret' in source || JSON.stringify(source).includes('"secret"');
    expect(visibleFiles(secretVolume ? layout.secretVolumeDir('v') : layout.volumeDir('v'))).toEqual(want);
  });

  it.each<[string, JsonObject, string]>([
    ['configMap missing', { configMap: { name: 'nope' } }, 'configmap "nope" not found'],
    ['configMap item key missing', { configMap: { name: 'cfg', items: [{ key: 'nope', path: 'n' }] } }, 'configmap references non-existent config key: nope'],
    ['secret missing', { secret: { secretName: 'nope' } }, 'secret "nope" not found'],
    ['secret item key missing', { secret: { secretName: 'sec', items: [{ key: 'nope', path: 'n' }] } }, 'secret references non-existent secret key: nope'],
    ['projected source missing', { projected: { sources: [{ secret: { name: 'nope' } }] } }, 'secret "nope" not found'],
    ['item path escaping the volume', { configMap: { name: 'cfg', items: [{ key: 'other', path: '../escape' }] } }, 'invalid volume file path "../escape": must not start with \'..\''],
    ['unsupported kind', { persistentVolumeClaim: { claimName: 'x' } }, 'persistentVolumeClaim volumes are not supported by the process runtime'],
  ])('blocks the Pod: %s', (_name, source, message) => {
    const { dir, manager, secrets } = setup(objects);
    const pod = parsePod(makePod({ ...podMeta, containers: [{ name: 'c' }], volumes: [{ name: 'v', ...source }] }));
    const result = manager.sync(pod, PodLayout.forPod(dir, pod.namespace, pod.name, pod.uid, secrets.dir));
    expect(result.blocking).toBe(`MountVolume.SetUp failed for volume "v" : ${message}`);
  });

  it('creates emptyDir as a writable directory and resolves mounts, subPath and subPathExpr', () => {
    const { dir, manager } = setup(objects);
    const pod = parsePod(
      makePod({
        ...podMeta,
        containers: [
          {
            name: 'c',
            volumeMounts: [
              { name: 'scratch', mountPath: '/scratch' },
              { name: 'scratch', mountPath: '/sub', subPath: 'a/b' },
              { name: 'scratch', mountPath: '/expr', subPathExpr: '$(POD)' },
              { name: 'cfg', mountPath: '/cfg' },
            ],
          },
        ],
        volumes: [
          { name: 'scratch', emptyDir: {} },
          { name: 'cfg', configMap: { name: 'cfg' } },
        ],
      }),
    );
    const layout = PodLayout.forPod(dir, pod.namespace, pod.name, pod.uid);
    expect(manager.sync(pod, layout).blocking).toBeUndefined();
    writeFileSync(path.join(layout.volumeDir('scratch'), 'w'), 'ok');
    const mounts = manager.mounts(pod, pod.containers[0]!, layout, new Map([['POD', 'web']]));
    expect(mounts).toEqual({
      ok: true,
      mounts: [
        { volume: 'scratch', hostPath: layout.volumeDir('scratch'), mountPath: '/scratch', readOnly: false },
        { volume: 'scratch', hostPath: path.join(layout.volumeDir('scratch'), 'a/b'), mountPath: '/sub', readOnly: false },
        { volume: 'scratch', hostPath: path.join(layout.volumeDir('scratch'), 'web'), mountPath: '/expr', readOnly: false },
        { volume: 'cfg', hostPath: layout.volumeDir('cfg'), mountPath: '/cfg', readOnly: true },
      ],
    });
    expect(statSync(path.join(layout.volumeDir('scratch'), 'a/b')).isDirectory()).toBe(true);
  });

  it('updates changed files atomically through the ..data symlink, drops removed keys, and leaves unchanged volumes alone', () => {
    const { dir, lookup, manager } = setup(objects);
    const pod = parsePod(makePod({ ...podMeta, containers: [{ name: 'c' }], volumes: [{ name: 'v', configMap: { name: 'cfg' } }] }));
    const layout = PodLayout.forPod(dir, pod.namespace, pod.name, pod.uid);
    const volume = layout.volumeDir('v');
    expect(manager.sync(pod, layout).updated).toEqual(['v']);
    const firstTarget = readlinkSync(path.join(volume, '..data'));
    expect(readlinkSync(path.join(volume, 'app.conf'))).toBe('..data/app.conf');

    // Same contents: nothing is rewritten.
    expect(manager.sync(pod, layout).updated).toEqual([]);
    expect(readlinkSync(path.join(volume, '..data'))).toBe(firstTarget);

    lookup.put(configMap('cfg', { 'app.conf': 'port=8080', added: 'new' }));
    expect(manager.sync(pod, layout).updated).toEqual(['v']);
    const secondTarget = readlinkSync(path.join(volume, '..data'));
    expect(secondTarget).not.toBe(firstTarget);
    expect(visibleFiles(volume)).toEqual({ 'app.conf': { text: 'port=8080', mode: '644' }, added: { text: 'new', mode: '644' } });
    // The old data directory and the visible links of removed keys are gone.
    expect(readdirSync(volume).sort()).toEqual(['..data', secondTarget, 'added', 'app.conf'].sort());
    expect(lstatSync(path.join(volume, 'added')).isSymbolicLink()).toBe(true);
  });

  it('trusts an unchanged volume for RECHECK_MS, then reads it back and puts a file changed behind it right', () => {
    let clock = Date.UTC(2026, 11, 7, 12);
    const { dir, lookup, manager } = setup(objects, () => clock);
    const pod = parsePod(makePod({ ...podMeta, containers: [{ name: 'c' }], volumes: [{ name: 'v', configMap: { name: 'cfg' } }] }));
    const layout = PodLayout.forPod(dir, pod.namespace, pod.name, pod.uid);
    const volume = layout.volumeDir('v');
    expect(manager.sync(pod, layout).updated).toEqual(['v']);
    const file = path.join(volume, '..data', 'app.conf');
    writeFileSync(file, 'tampered');

    // Within the interval the volume is not read back (the point: no disk reads per sync)...
    clock += RECHECK_MS - 1;
    expect(manager.sync(pod, layout).updated).toEqual([]);
    expect(readFileSync(file, 'utf8')).toBe('tampered');
    // ...but a changed source is written at once,
    lookup.put(configMap('cfg', { 'app.conf': 'port=81', other: 'o' }));
    expect(manager.sync(pod, layout).updated).toEqual(['v']);
    expect(visibleFiles(volume)['app.conf']).toEqual({ text: 'port=81', mode: '644' });
    // A ..data that still names the directory written is trusted; one that is gone is written again.
    const written = readlinkSync(path.join(volume, '..data'));
    writeFileSync(path.join(volume, '..data', 'app.conf'), 'tampered again');
    rmSync(path.join(volume, '..data'));
    symlinkSync(written, path.join(volume, '..data'));
    expect(manager.sync(pod, layout).updated).toEqual([]);
    rmSync(path.join(volume, '..data'));
    expect(manager.sync(pod, layout).updated).toEqual(['v']);
    expect(visibleFiles(volume)['app.conf']).toEqual({ text: 'port=81', mode: '644' });

    // Past the interval it is read back, and the tampered file is put right.
    writeFileSync(path.join(volume, '..data', 'app.conf'), 'tampered');
    expect(manager.sync(pod, layout).updated).toEqual([]);
    clock += RECHECK_MS;
    expect(manager.sync(pod, layout).updated).toEqual(['v']);
    expect(visibleFiles(volume)['app.conf']).toEqual({ text: 'port=81', mode: '644' });
  });

  it('remembers a bounded number of volumes: the oldest is forgotten and read back at its next write', () => {
    const root = makeTempDir('edge-writer-bound-');
    dirs.push(root);
    const writer = new AtomicWriter(() => Date.UTC(2026, 11, 7, 12), 2);
    const payload = () => new Map([['f', { data: Buffer.from('right'), mode: 0o644 }]]);
    const [a, b, c] = ['a', 'b', 'c'].map((name) => path.join(root.path, name)) as [string, string, string];
    for (const dir of [a, b, c]) expect(writer.write(dir, payload())).toBe(true);
    for (const dir of [a, c]) writeFileSync(path.join(dir, '..data', 'f'), 'tampered');
    // a was forgotten when c came: read back and put right. c is remembered: trusted.
    expect(writer.write(a, payload())).toBe(true);
    expect(readFileSync(path.join(a, 'f'), 'utf8')).toBe('right');
    expect(writer.write(c, payload())).toBe(false);
    expect(readFileSync(path.join(c, 'f'), 'utf8')).toBe('tampered');
  });

  it('keeps the files of a volume whose source disappears later, with a warning instead of blocking', () => {
    const { dir, lookup, manager } = setup(objects);
    const pod = parsePod(makePod({ ...podMeta, containers: [{ name: 'c' }], volumes: [{ name: 'v', configMap: { name: 'cfg' } }] }));
    const layout = PodLayout.forPod(dir, pod.namespace, pod.name, pod.uid);
    manager.sync(pod, layout);
    lookup.delete('ConfigMap/default/cfg');
    const result = manager.sync(pod, layout);
    expect(result.blocking).toBeUndefined();
    expect(result.warnings).toEqual(['MountVolume.SetUp failed for volume "v" : configmap "cfg" not found']);
    expect(readFileSync(path.join(layout.volumeDir('v'), 'app.conf'), 'utf8')).toBe('port=80');
  });
});

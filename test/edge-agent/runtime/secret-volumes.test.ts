/**
 * Secret volumes never rest on disk: they are written only to a memory filesystem (tmpfs or
 * ramfs), files 0400 (0440 with an fsGroup) in 0700 directories, removed with the Pod and at
 * start for Pods that are gone; a directory on a disk, or one someone else planted, is refused
 * with the reason.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, statfsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { PodLayout } from '../../../edge-agent/runtime/pod-layout.js';
import { RAMFS_MAGIC, SecretVolumes, TMPFS_MAGIC, chooseSecretsDir, notOnMemoryFilesystem } from '../../../edge-agent/runtime/secret-volumes.js';
import { REPO } from '../../helpers/process.js';
import { waitFor } from '../../helpers/wait.js';
import { Harness, configMap, keyOf, makePod, makeSecretsDir, secret, sh, silentLogger } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SECRET_VALUE = 'hunter2-do-not-store';

async function harness(overrides: ConstructorParameters<typeof Harness>[0] = {}): Promise<Harness> {
  const h = new Harness(overrides, [secret('creds', { password: SECRET_VALUE, user: 'admin' }), configMap('cfg', { 'app.conf': 'port=80' })]);
  cleanups.push(() => h.cleanup());
  await h.runtime.start();
  return h;
}

function layoutOf(h: Harness, pod: JsonObject): PodLayout {
  const metadata = pod.metadata as { namespace: string; name: string; uid: string };
  return PodLayout.forPod(h.dataDir, metadata.namespace, metadata.name, metadata.uid, h.runtime.secretsDir);
}

function mode(file: string): string {
  return (statSync(file).mode & 0o777).toString(8);
}

/** Every regular file under `dir` (symlinks not followed: they point at the memory filesystem) whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    const stat = lstatSync(full);
    if (stat.isDirectory()) found.push(...filesContaining(full, needle));
    else if (stat.isFile() && readFileSync(full).includes(needle)) found.push(full);
  }
  return found;
}

/** A directory on a disk (not tmpfs or ramfs): the OS temp dir or, where that is a tmpfs, the repository's. */
function diskDir(): string {
  for (const candidate of [tmpdir(), REPO, '/var/tmp']) {
    if (notOnMemoryFilesystem(candidate) !== undefined) {
      const dir = mkdtempSync(path.join(candidate, '.edge-disk-secrets-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    }
  }
  throw new Error(`no directory on a disk found among ${tmpdir()}, ${REPO}, /var/tmp: this test needs one`);
}

const secretPod = (extra: { defaultMode?: number; items?: JsonObject[] } = {}) =>
  makePod({
    name: 'reader',
    containers: [
      // The value to compare with comes from the environment, so the Pod spec (on disk in state.json) does not hold it.
      sh('main', 'test "$(cat "$EDGE_VOLUME_CREDS/password")" = "$EXPECTED" && echo match; sleep 60', {
        env: [{ name: 'EXPECTED', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }],
        volumeMounts: [
          { name: 'creds', mountPath: '/etc/creds' },
          { name: 'mixed', mountPath: '/etc/mixed' },
          { name: 'cfg', mountPath: '/etc/cfg' },
        ],
      }),
    ],
    volumes: [
      { name: 'creds', secret: { secretName: 'creds', ...(extra.defaultMode !== undefined ? { defaultMode: extra.defaultMode } : {}), ...(extra.items ? { items: extra.items } : {}) } },
      { name: 'mixed', projected: { sources: [{ configMap: { name: 'cfg' } }, { secret: { name: 'creds', items: [{ key: 'password', path: 'p' }] } }] } },
      { name: 'cfg', configMap: { name: 'cfg' } },
    ],
  });

describe('Secret volumes', () => {
  it('live only on the memory filesystem: files 0400 in 0700 directories, no Secret byte under the data directory', async () => {
    const h = await harness();
    const pod = secretPod();
    await h.runtime.syncPod(pod);
    await waitFor(() => h.pid(keyOf(pod), 'main'), { what: 'reader running' });
    const layout = layoutOf(h, pod);
    const log = () => readFileSync(path.join(layout.dir, 'logs', 'main.log'), 'utf8');
    await waitFor(() => log().includes('match'), { what: 'the container reading its Secret' });

    const creds = layout.secretVolumeDir('creds');
    expect([TMPFS_MAGIC, RAMFS_MAGIC]).toContain(statfsSync(creds).type >>> 0);
    expect(readFileSync(path.join(creds, 'password'), 'utf8')).toBe(SECRET_VALUE);
    // Kubernetes' default 0644 becomes 0400; the projected volume with a Secret source too.
    expect([mode(path.join(creds, 'password')), mode(path.join(creds, 'user')), mode(path.join(layout.secretVolumeDir('mixed'), 'p')), mode(path.join(layout.secretVolumeDir('mixed'), 'app.conf'))]).toEqual(['400', '400', '400', '400']);
    const dataDir = path.join(creds, readlinkData(creds));
    for (const dir of [h.runtime.secretsDir!, layout.secretsPodDir, creds, dataDir, layout.secretVolumeDir('mixed')]) expect(mode(dir), dir).toBe('700');
    // The ConfigMap volume stays with the Pod, readable as Kubernetes makes it.
    expect(mode(path.join(layout.volumeDir('cfg'), 'app.conf'))).toBe('644');
    expect(filesContaining(h.dataDir, SECRET_VALUE)).toEqual([]);
  });

  it('keep an execute bit and, with an fsGroup, group read: never write, never others', async () => {
    const h = await harness();
    const pod = secretPod({ defaultMode: 0o777, items: [{ key: 'password', path: 'script', mode: 0o755 }, { key: 'user', path: 'u', mode: 0o666 }] });
    await h.runtime.syncPod(pod);
    const creds = layoutOf(h, pod).secretVolumeDir('creds');
    await waitFor(() => readdirSync(creds).includes('script'));
    expect([mode(path.join(creds, 'script')), mode(path.join(creds, 'u'))]).toEqual(['500', '400']);

    const grouped = makePod({ name: 'grouped', containers: [sh('main', 'sleep 60', { volumeMounts: [{ name: 'creds', mountPath: '/c' }] })], volumes: [{ name: 'creds', secret: { secretName: 'creds' } }] });
    (grouped.spec as JsonObject).securityContext = { fsGroup: 2345 };
    await h.runtime.syncPod(grouped);
    const groupedDir = layoutOf(h, grouped).secretVolumeDir('creds');
    await waitFor(() => readdirSync(groupedDir).includes('password'));
    expect(mode(path.join(groupedDir, 'password'))).toBe('440');
    if (process.geteuid?.() === 0) expect(statSync(path.join(groupedDir, 'password')).gid).toBe(2345);
    expect(mode(groupedDir)).toBe('700');
  });

  it('tighten a volume directory that already existed with a looser mode', async () => {
    const h = await harness();
    const pod = secretPod();
    const creds = layoutOf(h, pod).secretVolumeDir('creds');
    mkdirSync(creds, { recursive: true, mode: 0o755 });
    chmodSync(creds, 0o755);
    await h.runtime.syncPod(pod);
    await waitFor(() => readdirSync(creds).includes('password'));
    expect(mode(creds)).toBe('700');
  });

  it('are removed with the Pod, and at start for Pods that are gone; those of running Pods stay', async () => {
    const h = await harness();
    const gone = secretPod();
    const kept = makePod({ name: 'kept', containers: [sh('main', 'sleep 60', { volumeMounts: [{ name: 'creds', mountPath: '/c' }] })], volumes: [{ name: 'creds', secret: { secretName: 'creds' } }] });
    await h.runtime.syncPod(gone);
    await h.runtime.syncPod(kept);
    await waitFor(() => h.pid(keyOf(kept), 'main'));
    const goneDir = layoutOf(h, gone).secretsPodDir;
    const keptDir = layoutOf(h, kept).secretsPodDir;
    await waitFor(() => readdirSync(goneDir).includes('creds'));
    await h.runtime.killPod(keyOf(gone), 0);
    expect(() => lstatSync(goneDir)).toThrow(/ENOENT/);

    // Left behind by a Pod deleted while no agent ran (its Pod directory is gone too).
    await h.runtime.stop();
    const stray = path.join(h.runtime.secretsDir!, 'default_stray_uid-1');
    mkdirSync(path.join(stray, 'creds'), { recursive: true });
    const next = h.create();
    await next.start();
    expect(() => lstatSync(stray)).toThrow(/ENOENT/);
    expect(readdirSync(path.join(keptDir, 'creds'))).toContain('password');
    expect(next.pods()).toEqual([keyOf(kept)]);
  });

  it('are refused on a disk, with the reason; Pods without Secret volumes run', async () => {
    const disk = diskDir();
    const h = await harness({ secretsDir: disk });
    const pod = secretPod();
    const plain = makePod({ name: 'plain', containers: [sh('main', 'sleep 60', { volumeMounts: [{ name: 'cfg', mountPath: '/c' }] })], volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }] });
    await h.runtime.syncPod(pod);
    await h.runtime.syncPod(plain);
    await waitFor(() => h.pid(keyOf(plain), 'main'), { what: 'the Pod without Secrets running' });
    const waiting = (h.container(keyOf(pod), 'main').state as JsonObject).waiting as JsonObject;
    expect(waiting.reason).toBe('ContainerCreating');
    expect(String(waiting.message)).toMatch(/MountVolume\.SetUp failed for volume "creds" : Secret volumes are only written to a memory filesystem: .* is on a .* filesystem \(statfs type 0x[0-9a-f]+\), not tmpfs or ramfs/);
    expect(h.events.some((event) => event.reason === 'FailedMount' && /not tmpfs or ramfs/.test(event.message))).toBe(true);
    expect(readdirSync(disk)).toEqual([]);
    expect(filesContaining(h.dataDir, SECRET_VALUE)).toEqual([]);
  });

  it('refuse a directory someone planted in their place (a symlink), and one open to others', () => {
    const root = makeSecretsDir();
    cleanups.push(() => root.remove());
    const dataDir = '/var/lib/edge-agent-test-data';
    const planted = new SecretVolumes({ root: root.path, dataDir, logger: silentLogger() });
    symlinkSync(diskDir(), planted.dir);
    expect(planted.problem()).toMatch(/is a symbolic link/);

    const open = makeSecretsDir();
    cleanups.push(() => open.remove());
    chmodSync(open.path, 0o777);
    expect(new SecretVolumes({ root: open.path, dataDir, logger: silentLogger() }).problem()).toMatch(/writable by others \(mode 777\) without the sticky bit/);
    chmodSync(open.path, 0o1777);
    expect(new SecretVolumes({ root: open.path, dataDir, logger: silentLogger() }).problem()).toBeUndefined();
  });

  it('default to $RUNTIME_DIRECTORY/secrets on a memory filesystem, never to one on a disk', () => {
    const runtimeDir = makeSecretsDir();
    cleanups.push(() => runtimeDir.remove());
    expect(chooseSecretsDir({ RUNTIME_DIRECTORY: runtimeDir.path }, 1234)).toEqual({ dir: path.join(runtimeDir.path, 'secrets') });
    const disk = diskDir();
    const choice = chooseSecretsDir({ RUNTIME_DIRECTORY: disk }, 1234);
    expect(choice.dir).not.toBe(path.join(disk, 'secrets'));
    expect(notOnMemoryFilesystem(choice.dir)).toBeUndefined();
  });
});

function readlinkData(dir: string): string {
  return readdirSync(dir).find((entry) => entry.startsWith('..') && entry !== '..data' && lstatSync(path.join(dir, entry)).isDirectory()) ?? '';
}

/** The agent's data folder is its owner's alone: 0700, databases 0600, looser ones tightened at start with a log line. */
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CACHE_FILE, openEdgeStore, SECRET_KEY_FILE } from '../../../edge-agent/store/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { captureLog, configMap, put } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function modeOf(file: string): number {
  return statSync(file).mode & 0o7777;
}

function parentDir(): string {
  const tmp = makeTempDir('edge-modes-');
  cleanups.push(() => tmp.remove());
  return tmp.path;
}

/** Opens, writes, and checks every file while the store is open (the -wal and -shm exist only then). */
function openWriteAndCheck(dir: string, log = captureLog()) {
  const store = openEdgeStore({ dir, logger: log.logger });
  cleanups.push(() => store.close());
  store.cache.apply([put('ConfigMap/default/a', configMap('a', { k: 'v' }))]);
  store.outbox.add({ kind: 'status', priority: 5, body: { ns: 'default', name: 'p', uid: 'u', status: {} } });
  expect(modeOf(dir)).toBe(0o700);
  const names = readdirSync(dir).filter((name) => name.startsWith(CACHE_FILE) || name === SECRET_KEY_FILE);
  expect(names).toEqual(expect.arrayContaining([CACHE_FILE, `${CACHE_FILE}-wal`, `${CACHE_FILE}-shm`, SECRET_KEY_FILE]));
  for (const name of names) expect(modeOf(path.join(dir, name)), name).toBe(0o600);
  return { store, log };
}

describe('data directory and database file modes', () => {
  it('creates a missing data directory (and its parents) 0700 and its databases 0600, even under a loose umask', () => {
    const dir = path.join(parentDir(), 'a', 'b', 'data');
    const previous = process.umask(0o000);
    try {
      const { log } = openWriteAndCheck(dir);
      expect(modeOf(path.dirname(dir))).toBe(0o700);
      expect(log.lines.filter((line) => line.level >= 40)).toEqual([]);
    } finally {
      process.umask(previous);
    }
  });

  it('tightens an existing 0755 data directory and 0644 databases from an older version, with a log line each', () => {
    const dir = path.join(parentDir(), 'data');
    const first = openEdgeStore({ dir, logger: captureLog().logger });
    first.cache.apply([put('ConfigMap/default/a', configMap('a', {}))]);
    first.close();
    chmodSync(dir, 0o755);
    chmodSync(path.join(dir, CACHE_FILE), 0o644);
    writeFileSync(path.join(dir, `${CACHE_FILE}-wal`), '');
    chmodSync(path.join(dir, `${CACHE_FILE}-wal`), 0o666);
    const { store, log } = openWriteAndCheck(dir);
    expect(store.cache.rvOf('ConfigMap/default/a')).toBeDefined();
    const warnings = log.lines.filter((line) => line.level === 40);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: dir, from: '0755', to: '0700', msg: expect.stringMatching(/data directory .*tightened/) }),
        expect.objectContaining({ path: path.join(dir, CACHE_FILE), from: '0644', to: '0600' }),
        expect.objectContaining({ path: path.join(dir, `${CACHE_FILE}-wal`), from: '0666', to: '0600' }),
      ]),
    );
  });

  it('refuses to make a shared (sticky) directory such as /tmp private, and says what to use instead', () => {
    const dir = path.join(parentDir(), 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o1777);
    expect(() => openEdgeStore({ dir, logger: captureLog().logger })).toThrow(/shared directory \(sticky bit, mode 1777\).*directory of its own/);
    expect(modeOf(dir)).toBe(0o1777);
  });
});

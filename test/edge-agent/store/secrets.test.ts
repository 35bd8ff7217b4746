/** Secrets are sealed at rest with a node-local key file; nothing of their values reaches the database file in clear. */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contentVersion, mergePatch, type JsonObject } from '../../../protocol/index.js';
import { CACHE_FILE, SECRET_KEY_FILE, SecretCipher, SecretKeyFileError, openCacheStore } from '../../../edge-agent/store/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { captureLog, configMap, put, secret, StoreDir } from './helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});
function storeDir(): StoreDir {
  const dir = new StoreDir();
  cleanups.push(() => dir.cleanup());
  return dir;
}

/** The raw bytes of cache.db and, when present, its WAL. */
function rawFiles(dir: string): Buffer {
  const parts = [CACHE_FILE, `${CACHE_FILE}-wal`].map((name) => path.join(dir, name)).filter(existsSync).map((file) => readFileSync(file));
  return Buffer.concat(parts);
}

const PASSWORD = 'hunter2-correct-horse-battery';
const TOKEN = 'tok-7f3a9c0d1e2b4a5f';
const NEW_PASSWORD = 'staple-new-password-42';

function plainSecret(password: string): JsonObject {
  const obj = secret('db', { password, token: TOKEN });
  obj.stringData = { 'note.txt': `the password is ${password}` };
  return obj;
}

function expectNoSecretValues(raw: Buffer, values: string[]): void {
  for (const value of values) {
    expect(raw.includes(Buffer.from(value)), `plain ${value}`).toBe(false);
    expect(raw.includes(Buffer.from(Buffer.from(value).toString('base64'))), `base64 of ${value}`).toBe(false);
  }
}

describe('secrets at rest', () => {
  it('no Secret value appears in cache.db or its WAL, before or after a checkpoint, and reads decrypt', () => {
    const dir = storeDir();
    const visible = 'configmap-marker-value-visible';
    const sec = plainSecret(PASSWORD);
    dir.store.apply([put('Secret/default/db', sec), put('ConfigMap/default/cm', configMap('cm', { visible }))]);

    const whileOpen = rawFiles(dir.path);
    // The scan finds what is stored in clear, so not finding the Secret's values means something.
    expect(whileOpen.includes(Buffer.from(visible))).toBe(true);
    expectNoSecretValues(whileOpen, [PASSWORD, TOKEN]);
    expect(dir.store.get('Secret/default/db')).toEqual(sec);

    // A patch decrypts, applies and seals again.
    const next = plainSecret(NEW_PASSWORD);
    const result = dir.store.apply([
      { op: 'patch', key: 'Secret/default/db', baseRv: contentVersion(sec), rv: contentVersion(next), patch: mergePatch.diff(sec, next) as JsonObject },
    ]);
    expect(result.changes[0]?.obj).toEqual(next);
    expect(dir.store.get('Secret/default/db')).toEqual(next);
    expectNoSecretValues(rawFiles(dir.path), [PASSWORD, TOKEN, NEW_PASSWORD]);

    dir.store.close(); // checkpoint: everything now in cache.db
    expect(existsSync(path.join(dir.path, `${CACHE_FILE}-wal`))).toBe(false);
    const afterClose = rawFiles(dir.path);
    expect(afterClose.includes(Buffer.from(visible))).toBe(true);
    expectNoSecretValues(afterClose, [PASSWORD, TOKEN, NEW_PASSWORD]);
    expect(dir.reopen().get('Secret/default/db')).toEqual(next);
    expect(dir.store.list('Secret').items[0]?.obj).toEqual(next);
  });

  it('creates secret.key with 32 random bytes and mode 0600', () => {
    const dir = storeDir();
    const file = path.join(dir.path, SECRET_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(file).size).toBe(32);
    const key = readFileSync(file);
    dir.reopen();
    expect(readFileSync(file).equals(key)).toBe(true); // kept, not recreated
  });

  it('refuses to start with a key file others can read, before touching the database', () => {
    const tmp = makeTempDir();
    cleanups.push(tmp.remove);
    const file = path.join(tmp.path, SECRET_KEY_FILE);
    writeFileSync(file, randomBytes(32), { mode: 0o600 });
    chmodSync(file, 0o644);
    const open = (): unknown => openCacheStore({ dir: tmp.path, logger: captureLog().logger });
    expect(open).toThrow(SecretKeyFileError);
    expect(open).toThrow(`secret key ${file} has mode 0644; it must be readable by its owner only (chmod 600 ${file})`);
    expect(existsSync(path.join(tmp.path, CACHE_FILE))).toBe(false);
    chmodSync(file, 0o400); // stricter than 0600 is fine
    openCacheStore({ dir: tmp.path, logger: captureLog().logger }).close();
  });

  it('refuses a key file of the wrong size', () => {
    const tmp = makeTempDir();
    cleanups.push(tmp.remove);
    writeFileSync(path.join(tmp.path, SECRET_KEY_FILE), randomBytes(16), { mode: 0o600 });
    expect(() => openCacheStore({ dir: tmp.path, logger: captureLog().logger })).toThrow(/is 16 bytes, expected 32/);
  });

  it('with another key, the cached Secrets are dropped at open (and refetched by the resync), the rest kept', () => {
    const dir = storeDir();
    dir.store.apply([put('Secret/default/db', plainSecret(PASSWORD)), put('ConfigMap/default/cm', configMap('cm', {}))]);
    dir.store.close();
    writeFileSync(path.join(dir.path, SECRET_KEY_FILE), randomBytes(32), { mode: 0o600 });

    const store = dir.reopen();

    expect([...store.entries()].map(([key]) => key)).toEqual(['ConfigMap/default/cm']);
    expect(dir.log.lines.some((line) => line.level === 50 && /does not match/.test(line.msg) && line.secrets === 1)).toBe(true);
    // Secrets sealed with the new key work, and the next open is quiet.
    store.apply([put('Secret/default/db', plainSecret(PASSWORD))]);
    const errors = dir.log.lines.length;
    expect(dir.reopen().get('Secret/default/db')).toEqual(plainSecret(PASSWORD));
    expect(dir.log.lines.slice(errors).filter((line) => line.level >= 50)).toEqual([]);
  });
});

describe('SecretCipher', () => {
  const cipher = new SecretCipher(randomBytes(32));

  it('uses a fresh IV per seal and opens what it sealed', () => {
    const a = cipher.seal('same text', 'Secret/default/a');
    const b = cipher.seal('same text', 'Secret/default/a');
    expect(a.equals(b)).toBe(false);
    expect(cipher.open(a, 'Secret/default/a')).toBe('same text');
  });

  it('rejects a tampered ciphertext, another key, and a ciphertext moved to another row', () => {
    const sealed = cipher.seal('{"data":{"k":"v"}}', 'Secret/default/a');
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => cipher.open(tampered, 'Secret/default/a')).toThrow();
    expect(() => new SecretCipher(randomBytes(32)).open(sealed, 'Secret/default/a')).toThrow();
    expect(() => cipher.open(sealed, 'Secret/default/b')).toThrow();
  });
});

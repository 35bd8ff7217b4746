/**
 * The node-local key that encrypts Secrets in the cache: 32 random bytes in `DIR/secret.key`,
 * mode 0600, created on first start. A key file others can read defeats encryption at rest,
 * so the agent refuses to start with one rather than quietly carrying on.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';

export const SECRET_KEY_BYTES = 32;

export class SecretKeyFileError extends Error {
  override readonly name = 'SecretKeyFileError';
}

/** Reads the key at `file`, creating it (0600, 32 random bytes) when it does not exist. */
export function loadOrCreateSecretKey(file: string): Buffer {
  if (!exists(file)) createKeyFile(file);
  return readKeyFile(file);
}

function readKeyFile(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    // Check the file we opened, not the path, so a swap between check and read cannot slip by.
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new SecretKeyFileError(`secret key ${file} is not a regular file`);
    const mode = stat.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new SecretKeyFileError(
        `secret key ${file} has mode ${mode.toString(8).padStart(4, '0')}; it must be readable by its owner only (chmod 600 ${file})`,
      );
    }
    if (stat.size !== SECRET_KEY_BYTES) {
      throw new SecretKeyFileError(
        `secret key ${file} is ${stat.size} bytes, expected ${SECRET_KEY_BYTES}; restore the right file, or delete it to start with a new key (cached Secrets are then fetched again)`,
      );
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the key to a temporary file and links it into place: a kill -9 half way leaves either
 * no key file or a whole one, never a short file that would stop the next start, and when two
 * processes race, the first link wins and both read the same key.
 */
function createKeyFile(file: string): void {
  const temporary = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, randomBytes(SECRET_KEY_BYTES));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * The agent's files are its owner's alone: the data directory 0700 and the database files
 * (cache.db and its -wal and -shm) 0600, whatever the umask and whatever an older version or an
 * installer left behind. Encrypting Secrets buys little if the cache and the key sit in a folder
 * everyone can list and a file everyone can copy. Existing folders and files that are looser are
 * tightened at start with a log line; new ones are created tight. SQLite gives the -wal and -shm
 * it creates the mode of the database file, so creating that file 0600 first covers all three.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import type { Logger } from 'pino';

export const PRIVATE_DIRECTORY_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Creates `dir` (and missing parents) 0700, or tightens an existing one to 0700. */
export function makePrivateDirectory(dir: string, logger: Logger): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  const stat = statSync(dir);
  if (!stat.isDirectory()) throw new Error(`data directory ${dir} is not a directory`);
  // A sticky directory is shared by design (/tmp); making it private would break the machine.
  if ((stat.mode & 0o1000) !== 0) throw new Error(`data directory ${dir} is a shared directory (sticky bit, mode ${octal(stat.mode)}); give the agent a directory of its own, for example ${dir.replace(/\/+$/, '')}/edge-agent`);
  if ((stat.mode & 0o077) === 0) return;
  try {
    chmodSync(dir, PRIVATE_DIRECTORY_MODE);
  } catch (err) {
    throw new Error(`data directory ${dir} has mode ${octal(stat.mode)} and cannot be made private (0700): ${(err as Error).message}; chown it to the agent's user or chmod 700 it`);
  }
  logger.warn({ path: dir, from: octal(stat.mode), to: octal(PRIVATE_DIRECTORY_MODE) }, 'data directory was readable by others; tightened it to owner only');
}

/** Creates `file` empty and 0600 when it is missing, or tightens an existing one to 0600. */
export function makePrivateFile(file: string, logger: Logger): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  tightenIfPresent(file, logger);
}

/** Tightens `file` to 0600 when it exists and others may read or write it. */
export function tightenIfPresent(file: string, logger: Logger): void {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((mode & 0o077) === 0) return;
  chmodSync(file, PRIVATE_FILE_MODE);
  logger.warn({ path: file, from: octal(mode), to: octal(PRIVATE_FILE_MODE) }, 'file was readable by others; tightened it to owner only');
}

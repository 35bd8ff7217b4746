/**
 * Writes a volume's files so that a reader never sees a half-written or half-updated set: the
 * kubelet's AtomicWriter scheme. The files live in a timestamped directory `..<time>.<rand>`,
 * `..data` is a symlink to it, and each visible top-level name is a symlink `name ->
 * ..data/name`. An update writes a complete new directory, then swaps `..data` with one
 * rename(2) (atomic), then adds/removes visible symlinks and deletes the old directory. The
 * symlinks are relative, so the scheme works the same through a bind mount at `mountPath`.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, chmodSync, writeFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { Payload } from './volume-payload.js';

const DATA_LINK = '..data';
const DATA_LINK_TMP = '..data_tmp';

export class AtomicWriter {
  constructor(private readonly now: () => number) {}

  /** Makes `dir` hold exactly `payload`; returns false (and touches nothing) when it already does. */
  write(dir: string, payload: Payload): boolean {
    mkdirSync(dir, { recursive: true });
    const currentName = readLink(path.join(dir, DATA_LINK));
    if (currentName !== undefined && sameContents(path.join(dir, currentName), payload)) return false;

    const stamp = new Date(this.now()).toISOString().replace(/[-:T]/g, '_').replace(/\..*$/, '');
    const next = mkdtempSync(path.join(dir, `..${stamp}.`));
    chmodSync(next, 0o755); // mkdtemp makes it 0700; the files' own modes decide who reads them
    for (const [relative, file] of payload) {
      const target = path.join(next, relative);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, file.data, { mode: file.mode });
      chmodSync(target, file.mode); // writeFileSync's mode is filtered by the umask
    }
    const tmpLink = path.join(dir, DATA_LINK_TMP);
    rmSync(tmpLink, { force: true });
    symlinkSync(path.basename(next), tmpLink);
    renameSync(tmpLink, path.join(dir, DATA_LINK));

    const visible = new Set([...payload.keys()].map((relative) => relative.split('/')[0] ?? relative));
    for (const name of visible) {
      const link = path.join(dir, name);
      const existing = readLink(link);
      if (existing === `${DATA_LINK}/${name}`) continue;
      rmSync(link, { recursive: true, force: true });
      symlinkSync(`${DATA_LINK}/${name}`, link);
    }
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (entry.startsWith('..')) {
        // Old data directories, including ones left by a crash between mkdtemp and the swap.
        if (entry !== DATA_LINK && entry !== path.basename(next)) rmSync(full, { recursive: true, force: true });
      } else if (!visible.has(entry) && readLink(full)?.startsWith(`${DATA_LINK}/`)) {
        unlinkSync(full);
      }
    }
    return true;
  }
}

function readLink(file: string): string | undefined {
  try {
    return readlinkSync(file);
  } catch {
    return undefined;
  }
}

function sameContents(dir: string, payload: Payload): boolean {
  const found = listFiles(dir);
  if (found === undefined || found.length !== payload.size) return false;
  for (const relative of found) {
    const want = payload.get(relative);
    if (!want) return false;
    const full = path.join(dir, relative);
    if ((statSync(full).mode & 0o7777) !== want.mode) return false;
    if (!readFileSync(full).equals(want.data)) return false;
  }
  return true;
}

/** Relative paths of the regular files under `dir`, or undefined when it cannot be read. */
function listFiles(dir: string, prefix = ''): string[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync(path.join(dir, prefix));
  } catch {
    return undefined;
  }
  const out: string[] = [];
  for (const entry of entries) {
    const relative = prefix ? `${prefix}/${entry}` : entry;
    const stat = lstatSync(path.join(dir, relative));
    if (stat.isDirectory()) out.push(...(listFiles(dir, relative) ?? []));
    else out.push(relative);
  }
  return out;
}

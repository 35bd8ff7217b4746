/**
 * Writes a volume's files so that a reader never sees a half-written or half-updated set: the
 * kubelet's AtomicWriter scheme. The files live in a timestamped directory `..<time>.<rand>`,
 * `..data` is a symlink to it, and each visible top-level name is a symlink `name ->
 * ..data/name`. An update writes a complete new directory, then swaps `..data` with one
 * rename(2) (atomic), then adds/removes visible symlinks and deletes the old directory. The
 * symlinks are relative, so the scheme works the same through a bind mount at `mountPath`.
 *
 * A Pod's sync asks for every one of its volumes; one ConfigMap changing syncs each Pod that
 * mounts it. Reading every unchanged volume back from disk each time cost a Pod with 99 ConfigMap
 * volumes ~600 system calls per change, so a volume found or written as its payload is trusted
 * for RECHECK_MS (as long as `..data` still names the same directory) and read back after that:
 * a file changed behind the writer's back is still put right, within a minute, as the kubelet's
 * periodic sync does.
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { volumeItemPathError } from '../../protocol/index.js';
import { UnsafePathError, safeJoin } from './safe-path.js';
import type { Payload } from './volume-payload.js';

const DATA_LINK = '..data';
const DATA_LINK_TMP = '..data_tmp';
/** How long a volume found or written as its payload is trusted without reading it back. */
export const RECHECK_MS = 60_000;
/**
 * Volumes remembered at most: the hub decides how many Pods and volumes a node has, so the memory
 * is bounded here; the oldest is forgotten first, and a forgotten volume is read back as before.
 */
export const MAX_REMEMBERED_VOLUMES = 4096;

/** What the writer last found or put in a volume directory. */
interface Remembered {
  dataName: string;
  digest: string;
  at: number;
}

export interface WriteOptions {
  /**
   * Mode of the volume directory and every directory in it (default: 0755 for the data
   * directories, the umask's for the rest). Secret volumes use 0700, applied to an existing
   * directory too.
   */
  dirMode?: number;
  /** Group of the files (an fsGroup), when the agent may give them one. */
  gid?: number | undefined;
}

export class AtomicWriter {
  private readonly remembered = new Map<string, Remembered>();

  constructor(
    private readonly now: () => number,
    private readonly maxRemembered = MAX_REMEMBERED_VOLUMES,
  ) {}

  /** Makes `dir` hold exactly `payload`; returns false (and touches nothing) when it already does. */
  write(dir: string, payload: Payload, options: WriteOptions = {}): boolean {
    for (const relative of payload.keys()) {
      const why = volumeItemPathError(relative);
      if (why !== undefined) throw new UnsafePathError(`invalid volume file path ${JSON.stringify(relative.slice(0, 80))}: ${why}`);
    }
    const digest = payloadDigest(payload, options);
    const now = this.now();
    const known = this.remembered.get(dir);
    if (known && known.digest === digest && now >= known.at && now - known.at < RECHECK_MS && readLink(path.join(dir, DATA_LINK)) === known.dataName) return false;
    const { dirMode } = options;
    mkdirSync(dir, { recursive: true, ...(dirMode !== undefined ? { mode: dirMode } : {}) });
    // An existing directory keeps its mode unless told otherwise: tightened here (0700 for Secrets).
    if (dirMode !== undefined) chmodSync(dir, dirMode);
    const currentName = readLink(path.join(dir, DATA_LINK));
    if (currentName !== undefined && !currentName.includes('/') && sameContents(path.join(dir, currentName), payload)) {
      this.remember(dir, { dataName: currentName, digest, at: now });
      return false;
    }
    this.remembered.delete(dir);

    const stamp = new Date(this.now()).toISOString().replace(/[-:T]/g, '_').replace(/\..*$/, '');
    const next = mkdtempSync(path.join(dir, `..${stamp}.`));
    // mkdtemp makes it 0700; for other volumes the files' own modes decide who reads them.
    chmodSync(next, dirMode ?? 0o755);
    for (const [relative, file] of payload) {
      const target = safeJoin(next, relative);
      mkdirSync(path.dirname(target), { recursive: true, ...(dirMode !== undefined ? { mode: dirMode } : {}) });
      writeFileSync(target, file.data, { mode: file.mode });
      chmodSync(target, file.mode); // writeFileSync's mode is filtered by the umask
      if (options.gid !== undefined) giveGroup(target, options.gid);
    }
    const tmpLink = path.join(dir, DATA_LINK_TMP);
    rmSync(tmpLink, { force: true });
    symlinkSync(path.basename(next), tmpLink);
    renameSync(tmpLink, path.join(dir, DATA_LINK));

    const visible = new Set([...payload.keys()].map((relative) => relative.split('/')[0] ?? relative));
    for (const name of visible) {
      const link = safeJoin(dir, name);
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
    this.remember(dir, { dataName: path.basename(next), digest, at: now });
    return true;
  }

  private remember(dir: string, entry: Remembered): void {
    this.remembered.delete(dir);
    this.remembered.set(dir, entry);
    if (this.remembered.size > this.maxRemembered) this.remembered.delete(this.remembered.keys().next().value as string);
  }
}

/** One digest of everything `write` would put on disk: paths, modes, contents and options. */
function payloadDigest(payload: Payload, options: WriteOptions): string {
  const hash = createHash('sha256');
  hash.update(`${options.dirMode ?? ''}:${options.gid ?? ''}\0`);
  for (const [relative, file] of payload) {
    hash.update(`${relative}\0${file.mode}\0${file.data.length}\0`);
    hash.update(file.data);
  }
  return hash.digest('base64');
}

/** chown to the fsGroup where the agent may (as root); otherwise the files keep the agent's group. */
function giveGroup(file: string, gid: number): void {
  if (!Number.isInteger(gid) || gid < 0) return;
  try {
    chownSync(file, -1, gid);
  } catch {
    // not permitted: an unprivileged agent cannot give files away
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

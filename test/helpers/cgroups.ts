/** Test cgroup subtrees: a unique --cgroup-root per suite, and its removal once its processes are gone. */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { removeTree } from '../../edge-agent/runtime/cgroup-v2.js';
import { waitFor } from './wait.js';

const MOUNT = '/sys/fs/cgroup';

/** A fresh cgroup path for one suite's agent (`/edge-sync-test-<hex>`). */
export function testCgroupRoot(): string {
  return `/edge-sync-test-${randomBytes(6).toString('hex')}`;
}

/** Where `root` lives in each mounted hierarchy (v1: one per controller; v2: the mount itself). */
export function cgroupDirsOf(root: string): string[] {
  if (existsSync(path.join(MOUNT, 'cgroup.controllers'))) return [path.join(MOUNT, root)];
  return readdirSync(MOUNT)
    .map((name) => path.join(MOUNT, name, root))
    .filter((dir) => existsSync(dir));
}

/** Removes `root` in every hierarchy, waiting (bounded) for processes killed just before to leave it. */
export async function removeCgroupRoot(root: string): Promise<void> {
  await waitFor(() => cgroupDirsOf(root).every((dir) => removeTree(dir)), { timeoutMs: 20_000, what: `cgroup ${root} removed` });
}

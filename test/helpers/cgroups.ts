/** Test cgroup subtrees: a unique --cgroup-root per suite, an agent's default subtree, and their removal once their processes are gone. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ownCgroups } from '../../edge-agent/runtime/cgroup-detect.js';
import { V1_CONTROLLERS } from '../../edge-agent/runtime/cgroup-v1.js';
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

/**
 * Where an agent started by this test process without --cgroup-root keeps its Pods' cgroups
 * (cgroup-detect.ts: `<own cgroup>/edge-sync/<hash of the data directory>`; the agent inherits
 * the test's cgroups), in every hierarchy.
 */
export function defaultAgentCgroupDirs(dataDir: string): string[] {
  const scope = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  const own = ownCgroups('/proc/self/cgroup');
  if (existsSync(path.join(MOUNT, 'cgroup.controllers'))) return [path.join(MOUNT, own.get('') ?? '/', 'edge-sync', scope)];
  return V1_CONTROLLERS.map((controller) => path.join(MOUNT, controller, own.get(controller) ?? '/', 'edge-sync', scope)).filter((dir) => existsSync(dir));
}

/** Removes an agent's default cgroup subtree once the Pods' processes killed just before have left it. */
export async function removeDefaultAgentCgroups(dataDir: string): Promise<void> {
  await waitFor(() => defaultAgentCgroupDirs(dataDir).every((dir) => removeTree(dir)), { timeoutMs: 20_000, what: `the cgroups of the agent on ${dataDir} removed` });
}

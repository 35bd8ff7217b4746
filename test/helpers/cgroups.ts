/** Test cgroup subtrees: a unique --cgroup-root per suite, an agent's default subtree, and their removal once their processes are gone. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ownCgroups } from '../../edge-agent/runtime/cgroup-detect.js';
import { V1_CONTROLLERS } from '../../edge-agent/runtime/cgroup-v1.js';
import { readPids, removeTree, subdirectories } from '../../edge-agent/runtime/cgroup-v2.js';
import { killQuietly } from './host-cleanup.js';
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

/** Removes `root` in every hierarchy once its agent is stopped, SIGKILLing what still runs there (see removeDefaultAgentCgroups). */
export async function removeCgroupRoot(root: string): Promise<void> {
  await waitFor(
    () => {
      const dirs = cgroupDirsOf(root);
      for (const pid of dirs.flatMap(processesBelow)) killQuietly(pid);
      return dirs.every((dir) => removeTree(dir));
    },
    { timeoutMs: 20_000, what: `cgroup ${root} removed` },
  );
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

/**
 * Removes an agent's default cgroup subtree. Its agent is stopped: whatever still runs in it is a
 * container its state did not record (an agent killed between spawning a container and saving
 * its pid), and is SIGKILLed so that no test leaves a process behind.
 */
export async function removeDefaultAgentCgroups(dataDir: string): Promise<void> {
  await waitFor(
    () => {
      const dirs = defaultAgentCgroupDirs(dataDir);
      for (const pid of dirs.flatMap(processesBelow)) killQuietly(pid);
      return dirs.every((dir) => removeTree(dir));
    },
    { timeoutMs: 20_000, what: `the cgroups of the agent on ${dataDir} removed` },
  );
}

/** Every pid in `dir` and the cgroups below it. */
function processesBelow(dir: string): number[] {
  const pids = readPids(path.join(dir, 'cgroup.procs'));
  for (const child of subdirectories(dir)) pids.push(...processesBelow(path.join(dir, child)));
  return pids;
}

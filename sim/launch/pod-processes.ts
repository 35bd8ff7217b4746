/**
 * An agent's Pods outlive the agent on purpose (the runtime adopts them after a restart). When a
 * demo or a test is over, they must go too: this kills every process group an agent data
 * directory's runtime state records.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PODS_DIR, STATE_FILE } from '../../edge-agent/runtime/pod-layout.js';
import type { PodState } from '../../edge-agent/runtime/pod-state.js';

/** SIGKILLs the process group of every running container under `dataDir`; returns how many. */
export function killPodProcesses(dataDir: string): number {
  const pods = path.join(dataDir, PODS_DIR);
  if (!existsSync(pods)) return 0;
  let killed = 0;
  for (const entry of readdirSync(pods)) {
    let state: PodState;
    try {
      state = JSON.parse(readFileSync(path.join(pods, entry, STATE_FILE), 'utf8')) as PodState;
    } catch {
      continue;
    }
    for (const container of Object.values(state.containers ?? {})) {
      const pgid = container.running?.pgid;
      // A group id of 0 or 1 would mean "us" or "everything": never.
      if (!pgid || pgid <= 1) continue;
      try {
        process.kill(-pgid, 'SIGKILL');
        killed += 1;
      } catch {
        // Already gone.
      }
    }
  }
  return killed;
}

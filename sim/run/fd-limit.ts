/**
 * The open-files limit decides how many nodes one simulator process can hold: each node's
 * socket is a file (and with --sqlite, its database, WAL and shared-memory files are three
 * more). Checked up front so a large run fails with a reason, not with EMFILE mid-way.
 */
import { readFileSync } from 'node:fs';

export function openFilesLimit(): number {
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!match || match[1] === 'unlimited') return Number.POSITIVE_INFINITY;
    return Number(match[1]);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Files one virtual node keeps open in the simulator. */
export function filesPerNode(sqlite: boolean): number {
  return sqlite ? 4 : 1;
}

export function checkOpenFiles(nodes: number, sqlite: boolean, limit = openFilesLimit()): void {
  const needed = nodes * filesPerNode(sqlite) + 256;
  if (needed <= limit) return;
  const most = Math.floor((limit - 256) / filesPerNode(sqlite));
  throw new Error(
    `${nodes} nodes need about ${needed} open files in the simulator (${filesPerNode(sqlite)} per node${sqlite ? ': socket, database, WAL, shared memory' : ': its socket'}), ` +
      `but the limit is ${limit} (ulimit -n). Run at most ${most} nodes per simulator process${sqlite ? ', or drop --sqlite' : ''}.`,
  );
}

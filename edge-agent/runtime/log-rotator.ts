/**
 * Size-based rotation of container logs: `<c>.log` is the live file, `<c>.log.1` the newest
 * rotated one, up to `<c>.log.<files-1>`; older ones are deleted (the kubelet's
 * containerLogMaxSize / containerLogMaxFiles, default 10 MiB and 5 files).
 *
 * The container holds the live file open with O_APPEND and cannot be asked to reopen it (it is
 * not our child after an agent restart, and a process runtime has no CRI ReopenContainerLog),
 * so rotation is copy-then-truncate, as logrotate's `copytruncate`: the writer's next write
 * lands at the start of the emptied file. Lines written between the copy and the truncate are
 * lost; the window is one synchronous copy of at most maxBytes plus what accumulated since the
 * last check.
 *
 * Each container instance has its own set of files: before a new instance starts, the last
 * one's set (`<c>.log`, `<c>.log.<n>`) becomes the previous set (`<c>.previous.log`, ...),
 * replacing the one before, as the kubelet keeps a log per instance and serves `--previous`.
 */
import { copyFileSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';

export interface LogRotationSettings {
  /** Rotate once the live file is larger than this. */
  maxBytes: number;
  /** Files kept per container, the live one included (at least 2). */
  files: number;
}

export const DEFAULT_LOG_ROTATION: LogRotationSettings = { maxBytes: 10 * 1024 * 1024, files: 5 };

export class LogRotator {
  private readonly files: number;

  constructor(private readonly settings: LogRotationSettings) {
    this.files = Math.max(2, Math.floor(settings.files));
  }

  /** Rotates `file` if it has grown past the limit; returns whether it did. */
  rotateIfNeeded(file: string): boolean {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return false;
    }
    if (size <= this.settings.maxBytes) return false;
    rmSync(`${file}.${this.files - 1}`, { force: true });
    for (let index = this.files - 2; index >= 1; index--) {
      try {
        renameSync(`${file}.${index}`, `${file}.${index + 1}`);
      } catch {
        // that generation does not exist yet
      }
    }
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    return true;
  }

  /**
   * Makes the live set of `file` the previous set `previous` (its old files deleted); the next
   * instance starts an empty `file`. Never throws: a file it cannot move leaves the new instance
   * appending to it, as before per-instance logs.
   */
  retire(file: string, previous: string): void {
    for (let index = 0; index < this.files; index++) {
      try {
        rmSync(suffixed(previous, index), { force: true });
        renameSync(suffixed(file, index), suffixed(previous, index));
      } catch {
        // that generation does not exist
      }
    }
  }
}

/** `file` for generation 0 (the live one), `file.<n>` for rotated generation n. */
function suffixed(file: string, index: number): string {
  return index === 0 ? file : `${file}.${index}`;
}

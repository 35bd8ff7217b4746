/**
 * Reads a container's log files the way the kubelet serves `containerLogs`: across rotated files
 * (oldest first), with tailLines, since, timestamps, limitBytes and follow, writing into a
 * stream with backpressure (a slow client slows the reading; nothing is read whole into memory:
 * 64 KiB at a time, one partial line held at most).
 *
 * Two formats (runtime-streams.ts): CRI lines carry their own time and stream; raw logs (the
 * process runtime) have no per-line time, so `since` selects whole files by their modification
 * time and `timestamps` stamps a line with its file's modification time, or while following with
 * the time it was read. Following ends when the client goes, the limit is reached, or the
 * container instance has stopped and everything it wrote has been sent; it survives rotation
 * (a renamed file is read to its end first; a copied-then-truncated one is read on from its copy).
 */
import { once } from 'node:events';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { LogSelection } from './runtime-streams.js';

export interface LogReadOptions {
  follow: boolean;
  tailLines?: number;
  /** Only lines at or after this time (ms since the epoch). */
  sinceMs?: number;
  timestamps: boolean;
  limitBytes?: number;
  /** How often a followed file is checked for more. Default 250 ms. */
  pollIntervalMs?: number;
  now?: () => number;
}

const CHUNK = 64 * 1024;
/** A line longer than this is passed on in pieces rather than held whole. */
const MAX_LINE = 1024 * 1024;
const NEWLINE = Buffer.from('\n');

/** Go's RFC3339Nano, as the kubelet prints times: fraction without trailing zeros. */
export function rfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d+)Z$/, (_m, fraction: string) => (/^0+$/.test(fraction) ? 'Z' : `.${fraction.replace(/0+$/, '')}Z`));
}

class LimitedOutput {
  written = 0;
  done = false;

  constructor(
    private readonly out: Writable,
    private readonly limit: number | undefined,
    private readonly signal: AbortSignal,
  ) {}

  async write(data: Buffer): Promise<void> {
    if (this.done || data.length === 0) return;
    let chunk = data;
    if (this.limit !== undefined && this.written + chunk.length >= this.limit) {
      chunk = chunk.subarray(0, this.limit - this.written);
      this.done = true;
    }
    this.written += chunk.length;
    if (!this.out.write(chunk) && !this.signal.aborted) {
      await once(this.out, 'drain', { signal: this.signal }).catch(() => undefined);
    }
  }
}

/** Turns file bytes into the response's bytes: passes them on, or line by line with stamps and a since filter. */
class LogFormatter {
  private partial: Buffer = Buffer.alloc(0);
  private cachedStamp = -1;
  private cachedText = '';
  /** Time given to raw lines (their file's mtime, or now while following). */
  stamp = 0;

  constructor(
    private readonly format: LogSelection['format'],
    private readonly options: LogReadOptions,
    private readonly output: LimitedOutput,
  ) {}

  private get passthrough(): boolean {
    return this.format === 'raw' && !this.options.timestamps;
  }

  async feed(chunk: Buffer): Promise<void> {
    if (this.passthrough) return this.output.write(chunk);
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    // One write per chunk read, not per line: the lines of a chunk are formatted into one buffer.
    const parts: Buffer[] = [];
    let newline = data.indexOf(10);
    while (newline >= 0) {
      this.line(data.subarray(0, newline), true, parts);
      data = data.subarray(newline + 1);
      newline = data.indexOf(10);
    }
    this.partial = Buffer.from(data);
    if (parts.length > 0) await this.output.write(Buffer.concat(parts));
    if (this.partial.length > MAX_LINE) await this.flush();
  }

  /** The rest of an unterminated line (end of the logs). */
  async flush(): Promise<void> {
    if (this.partial.length === 0) return;
    const rest = this.partial;
    this.partial = Buffer.alloc(0);
    const parts: Buffer[] = [];
    this.line(rest, false, parts);
    if (parts.length > 0) await this.output.write(Buffer.concat(parts));
  }

  private line(line: Buffer, terminated: boolean, parts: Buffer[]): void {
    if (this.format === 'raw') {
      if (this.options.timestamps) parts.push(Buffer.from(`${this.stampText()} `));
      parts.push(line);
      if (terminated) parts.push(NEWLINE);
      return;
    }
    // <time> <stream> <P|F> <content>
    const first = line.indexOf(32);
    const second = first < 0 ? -1 : line.indexOf(32, first + 1);
    const third = second < 0 ? -1 : line.indexOf(32, second + 1);
    const tag = line[second + 1];
    // Not a CRI line (a time first, a P or F tag): skipped, as the kubelet does.
    if (third < 0 || !(line[0]! >= 0x30 && line[0]! <= 0x39) || (tag !== 0x50 && tag !== 0x46)) return;
    if (this.options.sinceMs !== undefined) {
      const at = Date.parse(line.subarray(0, first).toString('latin1'));
      if (!Number.isFinite(at) || at < this.options.sinceMs) return;
    }
    if (this.options.timestamps) parts.push(line.subarray(0, first + 1));
    parts.push(line.subarray(third + 1));
    if (tag !== 0x50 /* P: partial, continued on the next line */) parts.push(NEWLINE);
  }

  private stampText(): string {
    const stamp = this.stamp || Date.now();
    if (stamp !== this.cachedStamp) {
      this.cachedStamp = stamp;
      this.cachedText = rfc3339Nano(stamp);
    }
    return this.cachedText;
  }
}

interface Position {
  file: number;
  offset: number;
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

/** Where the last `lines` lines of the files begin, scanning backwards a chunk at a time. */
export async function tailStart(files: string[], lines: number): Promise<Position> {
  const lastIndex = files.length - 1;
  if (lines <= 0) return { file: lastIndex, offset: (await sizeOf(files[lastIndex]!)) ?? 0 };
  let need = lines;
  for (let index = lastIndex; index >= 0; index--) {
    let handle: FileHandle;
    try {
      handle = await open(files[index]!, 'r');
    } catch {
      continue;
    }
    try {
      const size = (await handle.stat()).size;
      let end = size;
      const buffer = Buffer.alloc(CHUNK);
      while (end > 0) {
        const length = Math.min(CHUNK, end);
        const { bytesRead } = await handle.read(buffer, 0, length, end - length);
        for (let j = bytesRead - 1; j >= 0; j--) {
          if (buffer[j] !== 10) continue;
          const at = end - length + j;
          // The newline that ends the whole log ends the last line; it separates nothing.
          if (index === lastIndex && at === size - 1) continue;
          if (--need === 0) return { file: index, offset: at + 1 };
        }
        end -= length;
      }
    } finally {
      await handle.close();
    }
  }
  return { file: 0, offset: 0 };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Writes the selected logs to `out`; resolves when done (out is not ended: the caller does that). */
export async function writeLogs(selection: LogSelection, options: LogReadOptions, out: Writable, signal: AbortSignal): Promise<void> {
  const now = options.now ?? Date.now;
  const output = new LimitedOutput(out, options.limitBytes, signal);
  const formatter = new LogFormatter(selection.format, options, output);
  let files = selection.files;
  if (selection.format === 'raw' && options.sinceMs !== undefined) {
    const since = options.sinceMs;
    const kept: string[] = [];
    for (const file of files) {
      const mtime = await stat(file).then((s) => s.mtimeMs, () => undefined);
      const live = file === files.at(-1) && options.follow;
      if (live || (mtime !== undefined && mtime >= since)) kept.push(file);
    }
    files = kept;
  }
  if (files.length === 0) return;
  const start = options.tailLines !== undefined ? await tailStart(files, options.tailLines) : { file: 0, offset: 0 };
  const buffer = Buffer.alloc(CHUNK);
  const stopped = (): boolean => signal.aborted || output.done;

  /** Reads from `position` to the current end of the open file; returns the new position. */
  const drain = async (handle: FileHandle, position: number): Promise<number> => {
    let at = position;
    while (!stopped()) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, at);
      if (bytesRead === 0) break;
      at += bytesRead;
      await formatter.feed(Buffer.from(buffer.subarray(0, bytesRead)));
    }
    return at;
  };

  for (let index = start.file; index < files.length && !stopped(); index++) {
    const file = files[index]!;
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch {
      continue; // rotated away meanwhile
    }
    try {
      const info = await handle.stat();
      formatter.stamp = info.mtimeMs;
      let position = await drain(handle, index === start.file ? start.offset : 0);
      if (index < files.length - 1 || !options.follow) continue;
      // Following the live file.
      let inode = info.ino;
      for (;;) {
        if (stopped()) break;
        const running = await selection.running();
        formatter.stamp = now();
        const before = position;
        position = await drain(handle, position);
        if (position > before) continue;
        const current = await stat(file).catch(() => undefined);
        if (current && current.ino !== inode) {
          // Renamed away (CRI rotation): the old file is read to its end; on to the new one.
          const next = await open(file, 'r').catch(() => undefined);
          if (next) {
            await handle.close();
            handle = next;
            inode = current.ino;
            position = 0;
            continue;
          }
        } else if (current && selection.copyTruncate && current.size < position) {
          // Copied to .1 and truncated: the rest of what we were reading is in the copy.
          const copy = await open(`${file}.1`, 'r').catch(() => undefined);
          if (copy) {
            try {
              await drain(copy, position);
            } finally {
              await copy.close();
            }
          }
          position = 0;
          continue;
        }
        // Nothing new. A container that had stopped before this read has written everything.
        if (!running) break;
        await sleep(options.pollIntervalMs ?? 250, signal);
      }
    } finally {
      await handle.close();
    }
  }
  if (!signal.aborted) await formatter.flush();
}

/**
 * Child processes of the project's binaries, driven by their pino log lines: every binary logs
 * one line with `msg: "ready"` carrying the addresses it bound. cloud-hub logs it only once
 * every informer has listed (as /readyz turns 200), and logs `msg: "listening"` with the same
 * addresses as soon as they are bound: wait for that to reach a hub whose cluster is not (yet)
 * reachable or is slow to list. Used by the simulator, the benchmarks, `npm start` and the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface LaunchOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Resolve once a log line satisfies this. Default: `msg === 'ready'`. Null: do not wait. */
  ready?: ((line: LogLine) => boolean) | null;
  timeoutMs?: number;
  name?: string;
  /** Keep at most this many log lines in memory (long runs). Default 100,000. */
  keepLines?: number;
  /** Node.js flags before the script (`--cpu-prof` is not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
  /** Called with every stdout line, parsed or not. */
  onLine?: (text: string, line: LogLine | undefined) => void;
  /** Called with the process as soon as it is spawned, before it is ready: whoever must stop it on a signal knows it from here. */
  onSpawn?: (proc: ManagedProcess) => void;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly stdoutText: string[] = [];
  readonly exited: Promise<Exit>;
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
    private readonly keepLines = 100_000,
    onLine?: (text: string, line: LogLine | undefined) => void,
  ) {
    this.exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      this.keep(this.stdoutText, text);
      let line: LogLine | undefined;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = undefined;
      }
      onLine?.(text, line);
      if (!line) return;
      this.keep(this.logs, line);
      for (const listener of this.listeners) listener(line);
    });
    createInterface({ input: child.stderr! }).on('line', (text) => this.keep(this.stderr, text));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident set size of the process, bytes (Linux /proc). */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  }

  /** User + system CPU time used so far, seconds (Linux /proc). */
  cpuSeconds(): number {
    const fields = readFileSync(`/proc/${this.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  /** The first log line (past or future) matching `predicate`. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 10_000, what = 'log line'): Promise<LogLine> {
    const found = this.logs.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail()}`));
      }, timeoutMs);
      const listener = (line: LogLine): void => {
        if (!predicate(line)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(line);
      };
      this.listeners.add(listener);
      void this.exited.then(({ code, signal }) => {
        if (!this.listeners.has(listener)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        reject(new Error(`${this.name} exited (code ${code}, signal ${signal}) before ${what}\n${this.tail()}`));
      });
    });
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<Exit> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** kill -9. */
  kill(): Promise<Exit> {
    return this.stop('SIGKILL');
  }

  tail(lines = 30): string {
    return [...this.stdoutText.slice(-lines), ...this.stderr.slice(-lines)].join('\n');
  }

  private keep<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > this.keepLines) list.splice(0, list.length - this.keepLines);
  }
}

/** Starts `node <script> ...args` and waits until it logs that it is ready. */
export async function launch(script: string, args: string[], options: LaunchOptions = {}): Promise<ManagedProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = new ManagedProcess(child, options.name ?? `${script} ${args.slice(0, 3).join(' ')}`, options.keepLines, options.onLine);
  options.onSpawn?.(proc);
  const ready = options.ready === undefined ? (line: LogLine) => line.msg === 'ready' : options.ready;
  if (ready) {
    try {
      await proc.waitForLog(ready, options.timeoutMs ?? 30_000, 'ready');
    } catch (err) {
      await proc.kill();
      throw err;
    }
  }
  return proc;
}

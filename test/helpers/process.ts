/**
 * Start the project's real binaries (built into dist/) as child processes and read their pino
 * log lines. Every binary logs one line with `msg: "ready"` carrying the addresses it bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import path from 'node:path';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = path.join(REPO, 'dist');

export const BIN = {
  cloudHub: path.join(DIST, 'cloud-hub/main.js'),
  edgeAgent: path.join(DIST, 'edge-agent/main.js'),
  edgeSim: path.join(DIST, 'sim/main.js'),
} as const;

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface StartOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Resolve once a log line satisfies this. Default: `msg === 'ready'`. Pass null to not wait. */
  ready?: ((line: LogLine) => boolean) | null;
  timeoutMs?: number;
}

export class RunningProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly stdoutText: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(readonly child: ChildProcess, readonly name: string) {
    this.exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      this.stdoutText.push(text);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      this.logs.push(line);
      for (const listener of this.listeners) listener(line);
    });
    createInterface({ input: child.stderr! }).on('line', (text) => this.stderr.push(text));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
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

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
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
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.stop('SIGKILL');
  }

  tail(lines = 30): string {
    return [...this.stdoutText.slice(-lines), ...this.stderr.slice(-lines)].join('\n');
  }
}

/** Starts `node <script> ...args` and waits until it logs that it is ready. */
export async function startProcess(script: string, args: string[], options: StartOptions = {}): Promise<RunningProcess> {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'debug', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = new RunningProcess(child, `${path.basename(path.dirname(script))} ${args.slice(0, 3).join(' ')}`);
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

/** Runs a command to completion and returns its output. */
export async function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

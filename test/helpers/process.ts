/** The project's binaries as child processes for tests (see sim/launch/managed-process.ts). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, ManagedProcess, type LaunchOptions, type LogLine } from '../../sim/launch/managed-process.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

export { ManagedProcess as RunningProcess, type LogLine };

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = path.join(REPO, 'dist');

export const BIN = {
  /**
   * The hub as its image runs it: the bundle test/global-setup.ts builds (npm run build:hub).
   * It starts in a fraction of the time dist/cloud-hub/main.js takes, and every test of the hub
   * then runs what ships.
   */
  cloudHub: path.join(REPO, 'dist-hub/cloud-hub.js'),
  /** The hub from the TypeScript build, module by module (for tests of what it loads when). */
  cloudHubModules: path.join(DIST, 'cloud-hub/main.js'),
  edgeAgent: path.join(DIST, 'edge-agent/main.js'),
  edgeSim: path.join(DIST, 'sim/main.js'),
} as const;

/**
 * Starts `node <script> ...args` with debug logs and waits until it logs that it is ready: 90 s
 * by default, a hang guard (a start took up to 14 s with a second `npm test` on 2 cores).
 */
export function startProcess(script: string, args: string[], options: LaunchOptions = {}): Promise<ManagedProcess> {
  return launch(script, args, {
    cwd: REPO,
    name: `${path.basename(path.dirname(script))} ${args.slice(0, 3).join(' ')}`,
    timeoutMs: 90_000,
    ...options,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'debug', ...options.env },
  });
}

/**
 * Runs a command to completion and returns its output. It runs in its own process group, and a
 * timeout kills the whole group: an edge-sim killed alone would leave its API server and hub.
 */
export async function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // A command that never reads its input may exit first: EPIPE here is not the test's failure.
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }, options.timeoutMs ?? 60_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

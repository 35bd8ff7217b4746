/** System programs that tests need, found on PATH (and the sbin folders root has), or a clear error. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** A program and the Debian package that installs it. */
export interface SystemTool {
  command: string;
  pkg: string;
}

const SEARCH_PATH = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);

/** The absolute path of `command`, or undefined when it is not installed. */
export function findCommand(command: string): string | undefined {
  if (command.includes('/')) return isExecutable(command) ? command : undefined;
  for (const dir of SEARCH_PATH) {
    const candidate = path.join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws, naming the exact install command, when any of `tools` is missing; `purpose` says who
 * needs them ("containerd tests").
 */
export function requireTools(purpose: string, tools: readonly SystemTool[]): void {
  const missing = tools.filter((tool) => !findCommand(tool.command));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => tool.pkg))];
  throw new Error(
    `${purpose} need ${missing.map((tool) => tool.command).join(', ')}: run npm run setup:system, or apt-get install -y ${packages.join(' ')}`,
  );
}

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a system program to completion with stdin from /dev/null (ctr, skopeo and friends never
 * read it, and writing to a pipe they have left fails with EPIPE); kills it after `timeoutMs`.
 */
export async function runTool(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<ToolResult> {
  const executable = findCommand(command);
  if (!executable) throw new Error(`${command} is not installed`);
  const child = spawn(executable, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  if (timedOut) stderr += `\n(${command} killed after ${timeoutMs} ms)`;
  return { code, stdout, stderr };
}

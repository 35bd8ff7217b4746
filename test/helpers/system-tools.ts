/**
 * System tools the tests run (kubectl, mosquitto, bwrap, ...). A test that needs one calls
 * `requireTool` first: on a machine without it the test fails, loudly, with the command that
 * installs it, never skips. scripts/setup-system.sh (`npm run setup:system`) installs all of them;
 * test/deploy/setup-system.test.ts checks that every package named here is in its list.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** The Debian package of each tool the tests use, by the command they run. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  kubectl: 'kubectl',
  mosquitto: 'mosquitto',
  bwrap: 'bubblewrap',
  nsenter: 'util-linux',
  script: 'bsdutils',
  shellcheck: 'shellcheck',
  'systemd-analyze': 'systemd',
};

/** A program and the Debian package that installs it. */
export interface SystemTool {
  command: string;
  pkg: string;
}

/** kubectl in the tests talks to a 1.32 API; kubectl supports one minor version of skew. */
export const KUBECTL_MIN_MINOR = 31;

/** Where Debian puts daemons such as mosquitto, which a non-root PATH usually lacks. */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The absolute path of `command` (a name looked up on PATH and the sbin directories, or a path), if it is there. */
export function findTool(command: string): string | undefined {
  if (command.includes('/')) return executable(command) ? path.resolve(command) : undefined;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SYSTEM_DIRS];
  return dirs.map((dir) => path.join(dir, command)).find(executable);
}

/** Alias kept for helpers that read better with it. */
export const findCommand = findTool;

/** The message a test fails with when a tool is missing or unusable. */
export function missingToolMessage(command: string, aptPackage: string, problem = 'is not installed'): string {
  return `${command} ${problem}: run \`npm run setup:system\` (or: apt-get install -y ${aptPackage})`;
}

const checked = new Map<string, string>();

/**
 * The absolute path of a system tool the calling test needs; throws (failing the test or the
 * whole file, never skipping it) with the install command when it is missing or, for kubectl,
 * too old. `command` is a name or a path (an override such as $MOSQUITTO_BIN); `aptPackage`
 * defaults to the package TOOL_PACKAGES names for it.
 */
export function requireTool(command: string, aptPackage = TOOL_PACKAGES[path.basename(command)]): string {
  if (!aptPackage) throw new Error(`requireTool(${command}): name its Debian package (and add it to scripts/setup-system.sh)`);
  const cached = checked.get(command);
  if (cached) return cached;
  const found = findTool(command);
  if (!found) throw new Error(missingToolMessage(command, aptPackage));
  if (path.basename(command) === 'kubectl') checkKubectlVersion(found, aptPackage);
  checked.set(command, found);
  return found;
}

/** Debian's python3 (python3-* packages install into its dist-packages, not a pyenv's). */
const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * Debian's python3 with `module` importable (a python3-* package, such as python3-kubernetes
 * for `kubernetes`); throws with the install command otherwise. Returns the interpreter's path.
 */
export function requirePythonModule(module: string, aptPackage: string): string {
  const python = requireTool(DEBIAN_PYTHON, aptPackage);
  try {
    execFileSync(python, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 30_000 });
  } catch {
    throw new Error(missingToolMessage(`${python} module ${module}`, aptPackage));
  }
  return python;
}

function checkKubectlVersion(kubectl: string, aptPackage: string): void {
  let minor = Number.NaN;
  let version = 'an unknown version';
  try {
    const out = JSON.parse(execFileSync(kubectl, ['version', '--client', '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 })) as {
      clientVersion?: { minor?: string; gitVersion?: string };
    };
    minor = Number.parseInt(out.clientVersion?.minor ?? '', 10);
    version = out.clientVersion?.gitVersion ?? version;
  } catch {
    // reported below
  }
  if (!(minor >= KUBECTL_MIN_MINOR)) {
    // Debian's kubernetes-client is 1.20; the package named kubectl is the Kubernetes project's.
    throw new Error(missingToolMessage(kubectl, aptPackage, `is ${version}, older than the 1.${KUBECTL_MIN_MINOR} the tests need (Debian's kubernetes-client is too old)`));
  }
}

/**
 * Throws, naming the exact install command, when any of `tools` is missing; `purpose` says who
 * needs them ("containerd tests").
 */
export function requireTools(purpose: string, tools: readonly SystemTool[]): void {
  const missing = tools.filter((tool) => !findTool(tool.command));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => tool.pkg))];
  throw new Error(
    `${purpose} need ${missing.map((tool) => tool.command).join(', ')}: run \`npm run setup:system\` (or: apt-get install -y ${packages.join(' ')})`,
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
  const file = findTool(command);
  if (!file) throw new Error(`${command} is not installed`);
  const child = spawn(file, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
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

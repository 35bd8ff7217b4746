/**
 * The agent package (build.ts) packed and installed as a device gets it: `npm pack` of
 * dist-agent/, then `npm install --omit=dev` of the tarball in an empty directory, as
 * deploy/edge/install.sh does. Used by the tests, `npm run bench` and `npm run test:arm64`.
 *
 * Offline-friendly: npm prefers its cache, and better-sqlite3's prebuild-install takes the addon
 * from a local prebuild directory (its documented `npm_config_better_sqlite3_local_prebuilds`)
 * made from a .node file we already have (the repository's own build, or the arm64
 * cross-compile), where a device would download the prebuilt binary for its architecture.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../bundle/esbuild-parts.js';

export const AGENT_PACKAGE = 'edge-sync-agent';

/**
 * The node flags deploy/edge/install.sh's systemd unit runs the agent with (its ExecStart;
 * test/deploy/install.test.ts checks the unit says the same, npm run bench measures with them).
 */
export const UNIT_NODE_FLAGS = ['--max-semi-space-size=1'] as const;

/** better-sqlite3's version in the repository's node_modules. */
export function betterSqliteVersion(): string {
  return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
}

/**
 * A prebuild directory holding `addon` (a better_sqlite3.node) under the name prebuild-install
 * looks for: better-sqlite3-vVERSION-node-vABI-linux-ARCH.tar.gz.
 */
export function localPrebuilds(dir: string, options: { addon?: string; abi?: string; arch?: string } = {}): string {
  const addon = options.addon ?? path.join(REPO_ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  mkdirSync(dir, { recursive: true });
  const staging = path.join(dir, `.staging-${process.pid}`);
  mkdirSync(path.join(staging, 'build/Release'), { recursive: true });
  writeFileSync(path.join(staging, 'build/Release/better_sqlite3.node'), readFileSync(addon));
  const name = `better-sqlite3-v${betterSqliteVersion()}-node-v${options.abi ?? process.versions.modules}-linux-${options.arch ?? process.arch}.tar.gz`;
  execFileSync('tar', ['czf', path.join(dir, name), '-C', staging, 'build/Release/better_sqlite3.node']);
  execFileSync('rm', ['-rf', staging]);
  return dir;
}

/** `npm pack` of the bundle directory into `destination`; the tarball's path. */
export function packAgent(bundleDir: string, destination: string): string {
  mkdirSync(destination, { recursive: true });
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', destination, bundleDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return path.join(destination, out.trim().split('\n').at(-1)!);
}

export interface InstalledAgent {
  /** The install directory (holds node_modules/). */
  dir: string;
  /** node_modules/edge-sync-agent/edge-agent.js */
  entry: string;
  /** Bytes on disk of everything installed (node_modules, apparent sizes). */
  bytes: number;
  /** The packages in node_modules, by name. */
  packages: string[];
}

/** Apparent size of a directory tree in bytes (symlinks not followed). */
export function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(file);
    else if (entry.isFile()) total += statSync(file).size;
  }
  return total;
}

function installedPackages(modules: string): string[] {
  const names: string[] = [];
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) names.push(...readdirSync(path.join(modules, entry)).map((name) => `${entry}/${name}`));
    else names.push(entry);
  }
  return names.sort();
}

/**
 * Installs the packed agent into `dir` with `npm install --omit=dev`; `prebuilds` is a local
 * prebuild directory for better-sqlite3 (localPrebuilds), `npmArgs` extra npm flags (e.g.
 * `--cpu=arm64` with `--ignore-scripts` for another architecture).
 */
export function installAgent(tarball: string, dir: string, options: { prebuilds?: string; npmArgs?: string[]; env?: Record<string, string> } = {}): InstalledAgent {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: 'edge-agent-install', private: true, allowScripts: { 'better-sqlite3': true } })}\n`);
  execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--no-update-notifier', '--prefer-offline', ...(options.npmArgs ?? []), tarball], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(options.prebuilds ? { npm_config_better_sqlite3_local_prebuilds: options.prebuilds } : {}), ...options.env },
  });
  const modules = path.join(dir, 'node_modules');
  return { dir, entry: path.join(modules, AGENT_PACKAGE, 'edge-agent.js'), bytes: treeBytes(modules), packages: installedPackages(modules) };
}

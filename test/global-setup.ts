/**
 * Integration tests start the real binaries from dist/, so build them first (incrementally:
 * a no-op when nothing changed) and fail loudly when the build does.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: repo,
    stdio: 'inherit',
  });
}

/**
 * Integration tests start the real binaries from dist/ and dist-hub/, so build them first (tsc
 * incrementally: a no-op when nothing changed; the hub bundle in a few seconds) and fail loudly
 * when the build does.
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
  // The hub bundle (dist-hub/, npm run build:hub): the tests run the hub as its image does.
  execFileSync(process.execPath, [path.join(repo, 'dist/scripts/hub-bundle/build.js')], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
}

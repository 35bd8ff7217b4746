/**
 * The agent's version, from the package it was installed from (found upwards from this file, built
 * or not): edge-sync, or edge-sync-agent, the bundled agent's own package (npm run build:agent).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function agentVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if ((pkg.name === 'edge-sync' || pkg.name === 'edge-sync-agent') && pkg.version) return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}

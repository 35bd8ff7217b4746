/** The house rule for this folder: the agent never imports the hub or the Kubernetes client; it reaches the cache and the protocol only through their indexes (protocol/kube/, the Kubernetes wire, has its own). */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../helpers/process.js';

const DIR = path.join(REPO, 'edge-agent/local-api');

function importsOf(file: string): string[] {
  const text = readFileSync(path.join(DIR, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)].map((match) => match[1] as string);
}

describe('local-api imports', () => {
  it('imports only node:, pino, its own modules, protocol/ (and protocol/kube/) and the agent store', () => {
    const files = readdirSync(DIR).filter((file) => file.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      for (const spec of importsOf(file)) {
        const allowed = spec.startsWith('node:') || spec === 'pino' || /^\.\/[a-z-]+\.js$/.test(spec) || spec === '../../protocol/index.js' || spec === '../../protocol/kube/index.js' || spec === '../store/index.js';
        expect(allowed, `${file} imports ${spec}`).toBe(true);
      }
    }
  });
});

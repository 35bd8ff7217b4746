/** Which modules a child process loads: `node --import module-probe.mjs` (see there) and the list it writes. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './process.js';

export interface ModuleProbe {
  /** Node.js flags that load the probe (LaunchOptions.nodeArgs). */
  nodeArgs: string[];
  /** Environment that names the file it writes to. */
  env: Record<string, string>;
  /** Every module URL resolved so far, each once. */
  loaded(): string[];
}

export function moduleProbe(file: string): ModuleProbe {
  return {
    nodeArgs: ['--import', path.join(REPO, 'test/helpers/module-probe.mjs')],
    env: { MODULE_PROBE_FILE: file },
    loaded: () => (existsSync(file) ? [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))] : []),
  };
}

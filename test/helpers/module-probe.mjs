/**
 * `node --import test/helpers/module-probe.mjs SCRIPT`: writes the URL of every module the
 * process resolves (its ESM imports, and the CommonJS entry points they reach) to the file
 * named by MODULE_PROBE_FILE, one per line, as it resolves them. Tests read the file to show
 * what a command loads and, above all, what it does not (see moduleProbe in module-probe.ts).
 * Plain JavaScript: Node.js runs it before any TypeScript is built or loaded.
 */
import { register } from 'node:module';

const file = process.env.MODULE_PROBE_FILE;
if (file) register('./module-probe-hooks.mjs', import.meta.url, { data: { file } });

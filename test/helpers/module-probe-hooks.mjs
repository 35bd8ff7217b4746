/** The module hooks of module-probe.mjs: they run on Node.js's loader thread, one line per resolved module. */
import { appendFileSync } from 'node:fs';

let file;

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  // Synchronous, so every module a process resolved is in the file before it logs "ready".
  appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}

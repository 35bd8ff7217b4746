/**
 * The one way the runtime builds a path from anything a Pod or a referenced object says (names,
 * uids, keys, item paths, subPaths): join, resolve, and check that the result is still strictly
 * inside its root. Names are validated before they get here (pod-validation.ts); this is the
 * second wall, so that a name that slipped past the first cannot make the agent write or
 * recursively delete anything outside its directories.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';

export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
}

/** Whether `candidate` (absolute, resolved) is `root` itself or below it. */
export function isWithin(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  // '..data' is a child; '..' and '../x' are not.
  return !path.isAbsolute(relative) && relative !== '..' && !relative.startsWith(`..${path.sep}`);
}

/**
 * `root` joined with `parts`, resolved, and strictly below `root`; throws `UnsafePathError`
 * otherwise (an absolute part, a '..' that climbs out, an empty result, a NUL byte).
 */
export function safeJoin(root: string, ...parts: string[]): string {
  const base = path.resolve(root);
  for (const part of parts) {
    if (typeof part !== 'string' || part.includes('\0')) throw new UnsafePathError(`unsafe path element ${JSON.stringify(part)} under ${base}`);
    if (path.isAbsolute(part)) throw new UnsafePathError(`absolute path ${JSON.stringify(part)} where a name under ${base} was expected`);
  }
  const joined = path.resolve(base, ...parts);
  if (joined === base || !isWithin(base, joined)) throw new UnsafePathError(`${JSON.stringify(parts.join('/'))} leaves ${base}`);
  return joined;
}

/**
 * Whether `candidate`, with every symlink on its way resolved, is still inside `root` (also
 * resolved). A path that does not exist yet is judged by its deepest existing ancestor, which is
 * where anything created below it would land. For paths inside directories a workload can
 * write (an emptyDir), where it may have planted a symlink pointing out.
 */
export function resolvesWithin(root: string, candidate: string): boolean {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    return false;
  }
  let existing = path.resolve(candidate);
  for (;;) {
    try {
      return isWithin(realRoot, realpathSync(existing));
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return false;
      existing = parent;
    }
  }
}

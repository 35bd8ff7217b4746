// Globs over object keys (`Kind/namespace/name`): `*` is any run of characters within one
// segment and `?` one character, neither crossing a `/`. So `Pod/*/web-*` is every `web-` Pod in
// any namespace and `Node//*` every Node, while a pattern without wildcards is exact. A glob
// rather than a prefix, because the interesting part (the name) is at the end of the key.
// (Line comments here: the examples contain the characters that would end a block comment.)

const MAX_GLOB = 1024;

export function objectGlobError(glob: string): string | undefined {
  if (glob.length === 0) return 'an object pattern must not be empty';
  if (glob.length > MAX_GLOB) return `an object pattern has at most ${MAX_GLOB} characters`;
  return undefined;
}

export function compileObjectGlob(glob: string): (key: string) => boolean {
  const why = objectGlobError(glob);
  if (why !== undefined) throw new Error(why);
  if (!glob.includes('*') && !glob.includes('?')) return (key) => key === glob;
  let source = '';
  for (const char of glob) {
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  const pattern = new RegExp(`^${source}$`, 'u');
  return (key) => pattern.test(key);
}

/**
 * `$(VAR)` expansion exactly as Kubernetes does it in env values, command, args and
 * subPathExpr (k8s.io/kubernetes/third_party/forked/golang/expansion): `$(NAME)` is replaced by
 * the variable's value when it is defined and left as written when it is not, `$$` is an
 * escaped `$`, and any other `$` (including an unterminated `$(`) is kept literally.
 */

/** Looks a name up in `vars`; an unknown name expands to itself, `$(NAME)`. */
export function mappingFor(vars: ReadonlyMap<string, string>): (name: string) => string {
  return (name) => vars.get(name) ?? `$(${name})`;
}

export function expand(input: string, mapping: (name: string) => string): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    const { read, isVar, advance } = readVariableName(rest);
    out += isVar ? mapping(read) : read;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** What follows a `$`: a `$(name)` reference, an escaped `$`, or literal text. */
function readVariableName(input: string): { read: string; isVar: boolean; advance: number } {
  if (input[0] === '$') return { read: '$', isVar: false, advance: 1 };
  if (input[0] === '(') {
    const close = input.indexOf(')', 1);
    if (close >= 0) return { read: input.slice(1, close), isVar: true, advance: close + 1 };
    // Unterminated: emit "$(" and let the caller copy the rest verbatim.
    return { read: '$(', isVar: false, advance: 1 };
  }
  return { read: `$${input[0] ?? ''}`, isVar: false, advance: 1 };
}

/**
 * Kubernetes label selectors, as apimachinery's labels.Parse reads them: the `labelSelector`
 * query parameter of both Kubernetes-wire APIs (the hub's embedded API, the agent's local API)
 * and the hub's node-selector annotations. Both forms kubectl and client libraries send:
 *
 *   equality-based   app=web, app==web, tier!=db
 *   set-based        env in (prod,staging), env notin (dev), gpu, !canary
 *   numeric          replicas>1, replicas<5   (kube accepts these too)
 *
 * Requirements separated by commas must all hold. `!=` and `notin` also match objects without
 * the label, as in Kubernetes.
 */

export type LabelOperator = 'exists' | '!exists' | 'in' | 'notin' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** For in/notin (a single value for = and !=), and the one integer for gt/lt. */
  values: readonly string[];
}

export class LabelSelector {
  constructor(readonly requirements: readonly LabelRequirement[]) {}

  get isEmpty(): boolean {
    return this.requirements.length === 0;
  }

  matches(labels: Readonly<Record<string, unknown>> | undefined): boolean {
    for (const req of this.requirements) {
      const value = labels?.[req.key];
      const has = typeof value === 'string';
      switch (req.operator) {
        case 'exists':
          if (!has) return false;
          break;
        case '!exists':
          if (has) return false;
          break;
        case 'in':
          if (!has || !req.values.includes(value)) return false;
          break;
        case 'notin':
          if (has && req.values.includes(value)) return false;
          break;
        case 'gt':
        case 'lt': {
          if (!has || !/^-?\d+$/.test(value)) return false;
          const actual = Number(value);
          const bound = Number(req.values[0]);
          if (req.operator === 'gt' ? !(actual > bound) : !(actual < bound)) return false;
          break;
        }
      }
    }
    return true;
  }
}

/** What the client sent does not parse; the server answers 400 BadRequest with the message. */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

type TokenKind = 'ident' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'end';

interface Token {
  kind: TokenKind;
  text: string;
}

const SPECIAL = new Set(['(', ')', ',', '!', '=', '>', '<']);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input.charAt(i);
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      tokens.push({ kind: two, text: two });
      i += 2;
      continue;
    }
    if (SPECIAL.has(ch)) {
      tokens.push({ kind: ch as TokenKind, text: ch });
      i++;
      continue;
    }
    let end = i;
    while (end < input.length && !SPECIAL.has(input.charAt(end)) && !/\s/.test(input.charAt(end))) end++;
    tokens.push({ kind: 'ident', text: input.slice(i, end) });
    i = end;
  }
  tokens.push({ kind: 'end', text: '' });
  return tokens;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why `key` is not a valid label key (a qualified name with an optional DNS prefix), or undefined. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0) return 'prefix part must be non-empty';
    if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return 'prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character';
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined. */
export function labelValueError(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

class Parser {
  private position = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly input: string,
  ) {}

  private peek(): Token {
    return this.tokens[this.position] ?? { kind: 'end', text: '' };
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.position++;
    return token;
  }

  private fail(detail: string): never {
    throw new SelectorError(`unable to parse requirement: ${detail} (in selector ${JSON.stringify(this.input)})`);
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    if (this.peek().kind === 'end') return requirements;
    for (;;) {
      requirements.push(this.requirement());
      const separator = this.next();
      if (separator.kind === 'end') return requirements;
      if (separator.kind !== ',') this.fail(`found '${separator.text}', expected ','`);
      if (this.peek().kind === 'end') this.fail('found end of input, expected a requirement after \',\'');
    }
  }

  private key(): string {
    const token = this.next();
    if (token.kind !== 'ident') this.fail(`found '${token.text || 'end of input'}', expected a label key`);
    const why = labelKeyError(token.text);
    if (why !== undefined) this.fail(`invalid label key ${JSON.stringify(token.text)}: ${why}`);
    return token.text;
  }

  private value(): string {
    const token = this.peek();
    // `app=` selects the empty value, as in kube.
    if (token.kind === ',' || token.kind === 'end') return '';
    this.next();
    if (token.kind !== 'ident') this.fail(`found '${token.text}', expected a label value`);
    const why = labelValueError(token.text);
    if (why !== undefined) this.fail(`invalid label value ${JSON.stringify(token.text)}: ${why}`);
    return token.text;
  }

  private requirement(): LabelRequirement {
    if (this.peek().kind === '!') {
      this.next();
      return { key: this.key(), operator: '!exists', values: [] };
    }
    const key = this.key();
    const op = this.peek();
    if (op.kind === ',' || op.kind === 'end') return { key, operator: 'exists', values: [] };
    this.next();
    switch (op.kind) {
      case '=':
      case '==':
        return { key, operator: 'in', values: [this.value()] };
      case '!=':
        return { key, operator: 'notin', values: [this.value()] };
      case '>':
      case '<': {
        const bound = this.next();
        if (bound.kind !== 'ident' || !/^-?\d+$/.test(bound.text)) this.fail(`for '${op.text}', the value must be an integer, found '${bound.text}'`);
        return { key, operator: op.kind === '>' ? 'gt' : 'lt', values: [bound.text] };
      }
      case 'ident':
        if (op.text === 'in' || op.text === 'notin') return { key, operator: op.text, values: this.valueSet() };
        break;
      default:
        break;
    }
    return this.fail(`found '${op.text}', expected one of '=', '==', '!=', 'in', 'notin', '>', '<', ','`);
  }

  private valueSet(): string[] {
    const open = this.next();
    if (open.kind !== '(') this.fail(`found '${open.text || 'end of input'}', expected '('`);
    const values: string[] = [];
    // `in ()` is the set {""} in kube.
    if (this.peek().kind === ')') {
      this.next();
      return [''];
    }
    for (;;) {
      const token = this.peek();
      if (token.kind === ',' || token.kind === ')') values.push('');
      else values.push(this.value());
      const separator = this.next();
      if (separator.kind === ')') return values;
      if (separator.kind !== ',') this.fail(`found '${separator.text || 'end of input'}', expected ',' or ')'`);
    }
  }
}

/** Parses a labelSelector query value; the empty string selects everything. Throws SelectorError. */
export function parseLabelSelector(input: string): LabelSelector {
  return new LabelSelector(new Parser(tokenize(input), input).parse());
}

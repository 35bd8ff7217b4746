/**
 * `/etc/edge-agent/config.yaml` (`--config FILE`): every flag of the agent can be set in it by
 * its long name in camelCase (`hub`, `node`, `tokenFile`, `localApi`, ...). Precedence is the
 * usual one: a flag on the command line, then its environment variable, then the file, then the
 * default. Values go through the same parsers as flags, and a bad file names the field.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from '../protocol/zod.js';

/** What a YAML value may be before it meets the flag's own parser. */
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const value = z.union([scalar, z.array(scalar), z.record(z.string(), scalar)]);

export class ConfigFileError extends Error {
  constructor(file: string, field: string, message: string) {
    super(`config ${file}: ${field}: ${message}`);
    this.name = 'ConfigFileError';
  }
}

export interface ConfigShapes {
  /** Settings that take a list (written `a,b` as a flag). */
  lists?: readonly string[];
  /** Settings that take a mapping (written `k=v,k2=v2` as a flag). */
  maps?: readonly string[];
}

/** Reads `file` and sets every option it names that the command line and environment left unset. */
export function applyConfigFile(command: Command, file: string, shapes: ConfigShapes = {}): void {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new ConfigFileError(file, '(file)', (err as Error).message);
  }
  if (document === null || document === undefined) return;
  const parsed = z.record(z.string(), value).safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigFileError(file, issue?.path.join('.') || '(file)', issue?.path.length ? 'expected a string, number, boolean, list or mapping' : 'expected a mapping of settings');
  }
  const options = new Map(command.options.map((option) => [option.attributeName(), option]));
  for (const [field, raw] of Object.entries(parsed.data)) {
    const option = options.get(field);
    if (!option || field === 'config') {
      const known = [...options.keys()].filter((name) => name !== 'config' && name !== 'help').join(', ');
      throw new ConfigFileError(file, field, `unknown setting; known settings: ${known}`);
    }
    const source = command.getOptionValueSource(field);
    if (source === 'cli' || source === 'env') continue;
    if (Array.isArray(raw) && !shapes.lists?.includes(field)) throw new ConfigFileError(file, field, 'expected a single value, not a list');
    if (typeof raw === 'object' && !Array.isArray(raw) && !shapes.maps?.includes(field)) throw new ConfigFileError(file, field, 'expected a single value, not a mapping');
    let parsedValue: unknown;
    try {
      parsedValue = toOptionValue(option, raw);
    } catch (err) {
      throw new ConfigFileError(file, field, (err as Error).message);
    }
    command.setOptionValueWithSource(field, parsedValue, 'config');
  }
}

type FlagOption = Command['options'][number];

function toOptionValue(option: FlagOption, raw: z.infer<typeof value>): unknown {
  if (option.isBoolean()) {
    if (typeof raw !== 'boolean') throw new Error('expected true or false');
    return raw;
  }
  // Lists and mappings are written the way the flag takes them (a,b / k=v,k2=v2).
  const text = Array.isArray(raw) ? raw.join(',') : typeof raw === 'object' ? Object.entries(raw).map(([k, v]) => `${k}=${v}`).join(',') : String(raw);
  if (option.argChoices && !option.argChoices.includes(text)) throw new Error(`expected one of ${option.argChoices.join(', ')}, got "${text}"`);
  return option.parseArg ? option.parseArg(text, undefined) : text;
}

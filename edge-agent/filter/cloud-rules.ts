/**
 * Keeps the filter's rules in step with the cloud. Rule sets arrive as ConfigMaps labelled
 * `edge-sync.io/filter-rules=true` (key `rules.yaml`), synced like any object the node may see;
 * a change applies without restart. Several of them are combined in name order: their rules
 * concatenated, the first `defaults` found winning. With none in the cache (the cloud never
 * reached, or none applies to this node) the local file's rules apply, else the built-in ones.
 * An invalid set is refused with the rule and field named, and the previous set stays.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { FILTER_RULES_KEY, FILTER_RULES_LABEL } from '../../protocol/index.js';
import type { SyncCache } from '../store/sync-cache.js';
import { DEFAULT_RULES } from './default-rules.js';
import type { FilterEngine } from './engine.js';


export interface CloudRulesOptions {
  engine: FilterEngine;
  cache: Pick<SyncCache, 'keysOfKind' | 'get' | 'onChange'>;
  logger: Logger;
  /** Rules to use when the cloud sent none (`--filter-rules FILE`). */
  localFile?: string;
  onRejected?: (message: string) => void;
}

export class CloudRules {
  private unsubscribe?: () => void;
  private applied = '';

  constructor(private readonly options: CloudRulesOptions) {}

  start(): void {
    this.unsubscribe = this.options.cache.onChange((changes) => {
      if (changes.some((change) => change.kind === 'ConfigMap')) this.refresh();
    });
    this.refresh();
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /** Re-reads the rule ConfigMaps and applies them when they changed. */
  refresh(): void {
    const { cache, engine, logger } = this.options;
    const documents: { key: string; doc: unknown }[] = [];
    const problems: string[] = [];
    for (const key of [...cache.keysOfKind('ConfigMap')].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const cm = cache.get(key);
      const labels = (cm?.metadata as { labels?: Record<string, string> } | undefined)?.labels;
      if (labels?.[FILTER_RULES_LABEL] !== 'true') continue;
      const text = (cm?.data as Record<string, string> | undefined)?.[FILTER_RULES_KEY];
      if (typeof text !== 'string') {
        problems.push(`${key}: no "${FILTER_RULES_KEY}" key`);
        continue;
      }
      try {
        documents.push({ key, doc: parseYaml(text) as unknown });
      } catch (err) {
        problems.push(`${key}: ${FILTER_RULES_KEY} is not YAML: ${(err as Error).message}`);
      }
    }
    if (problems.length > 0) return this.reject(problems.join('; '));
    let origin: string;
    let doc: unknown;
    if (documents.length > 0) {
      origin = documents.map((document) => document.key).join(', ');
      doc = combine(documents.map((document) => document.doc));
    } else if (this.options.localFile) {
      origin = this.options.localFile;
      try {
        doc = parseYaml(readFileSync(this.options.localFile, 'utf8')) as unknown;
      } catch (err) {
        return this.reject(`${this.options.localFile}: ${(err as Error).message}`);
      }
    } else {
      origin = 'built-in defaults';
      doc = DEFAULT_RULES;
    }
    const fingerprint = `${origin}\n${JSON.stringify(doc)}`;
    if (fingerprint === this.applied) return;
    const result = engine.setRules(doc, origin);
    if (!result.ok) return this.reject(result.error.issues.map((issue) => issue.text).join('; '));
    this.applied = fingerprint;
    logger.info({ origin, rules: result.rules.rules.length }, 'event filter rules in force');
  }

  private reject(message: string): void {
    this.options.logger.error({ problem: message }, 'event filter rules refused; the previous rules stay in force');
    this.options.onRejected?.(message);
  }
}

/** Several rule documents as one: rules concatenated, the first defaults. */
function combine(docs: unknown[]): unknown {
  if (docs.length === 1) return docs[0];
  const rules: unknown[] = [];
  let defaults: unknown;
  for (const doc of docs) {
    const value = (doc ?? {}) as { rules?: unknown; defaults?: unknown };
    if (Array.isArray(value.rules)) rules.push(...value.rules);
    defaults ??= value.defaults;
  }
  return defaults === undefined ? { rules } : { rules, defaults };
}

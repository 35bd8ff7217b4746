/**
 * `npm run bench -- --json`: the same tables as rows a program can read. Every row names its
 * measure, its value, its baseline (measured in the same run, when the table has one), its
 * target and its verdict, and `met` says in one boolean whether the goal was met (null for a
 * row without a goal, such as a detail under a measure).
 */
import type { Cell } from '../report/table.js';
import type { BenchSection } from './section.js';

export interface BenchJsonRow {
  section: string;
  /** The row's measure; a detail row (indented in the table) is prefixed with its parent's. */
  measure: string;
  value: Cell | null;
  baseline: Cell | null;
  /** What the baseline is (another process, a bare server, ...). */
  baselineIs: string | null;
  target: string | null;
  verdict: string | null;
  /** true: goal met; false: missed or not measured; null: the row has no goal. */
  met: boolean | null;
}

export interface BenchJson {
  node: string;
  arch: string;
  measuredAt: string;
  rows: BenchJsonRow[];
  /** The tables as printed, for anyone who wants them whole. */
  sections: BenchSection[];
}

export function benchJson(sections: readonly BenchSection[], measuredAt = new Date()): BenchJson {
  return {
    node: process.version,
    arch: process.arch,
    measuredAt: measuredAt.toISOString(),
    rows: sections.flatMap(sectionRows),
    sections: [...sections],
  };
}

export function sectionRows(section: BenchSection): BenchJsonRow[] {
  const column = (name: string): number => section.header.indexOf(name);
  const measureAt = Math.max(0, column('measure'));
  // The value column is the first after `measure` (its title names the thing measured).
  const valueAt = measureAt + 1;
  const baselineAt = column('baseline');
  const baselineIsAt = column('baseline is');
  const targetAt = column('target');
  const verdictAt = column('verdict');
  const cell = (row: readonly Cell[], at: number): Cell | null => {
    if (at < 0) return null;
    const value = row[at];
    return value === undefined || value === '' ? null : value;
  };
  let parent = '';
  return section.rows.map((row) => {
    const raw = String(row[measureAt] ?? '');
    const detail = /^\s/.test(raw);
    const name = raw.trim();
    if (!detail) parent = name;
    const verdict = cell(row, verdictAt);
    const target = cell(row, targetAt);
    return {
      section: section.title,
      measure: detail && parent !== '' ? `${parent} / ${name}` : name,
      value: cell(row, valueAt),
      baseline: cell(row, baselineAt),
      baselineIs: stringOrNull(cell(row, baselineIsAt)),
      target: stringOrNull(target),
      verdict: stringOrNull(verdict),
      met: verdict === null ? (target === null ? null : false) : verdict === 'met',
    };
  });
}

function stringOrNull(value: Cell | null): string | null {
  return value === null ? null : String(value);
}

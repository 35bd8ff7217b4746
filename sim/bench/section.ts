import type { Cell } from '../report/table.js';

/** One table of `npm run bench`. */
export interface BenchSection {
  title: string;
  header: string[];
  rows: Cell[][];
  /** Lines printed under the table: conditions, caveats. */
  notes?: string[];
}

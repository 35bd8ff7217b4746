/** Markdown tables for bench and simulator reports: readable in a terminal and pasteable into notes. */

export type Cell = string | number;

export function markdownTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map(formatCell));
  const widths = header.map((title, i) => Math.max(title.length, ...text.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}

export function formatCell(cell: Cell): string {
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return String(cell);
  if (Number.isInteger(cell)) return cell.toLocaleString('en-US');
  return cell.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

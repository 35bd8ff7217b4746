/**
 * Durations in rule sets: `500ms`, `30s`, `5m`, `1h`, `7d`, or several run together (`1h30m`).
 * Plain numbers are not accepted: `ttl: 30` could mean seconds or milliseconds, and a rule set
 * that is off by a factor of 1000 passes every check but the one that matters.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WHOLE = /^(?:\d+(?:ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text.length > 32 || !WHOLE.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * (UNIT_MS[unit ?? ''] ?? 0);
  return Number.isSafeInteger(total) ? total : undefined;
}

/** The shortest exact spelling of `ms`, for messages and summaries: 90000 -> `1m30s`. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0ms';
  let rest = ms;
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit] ?? 1;
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      text += `${amount}${unit}`;
      rest -= amount * size;
    }
  }
  return text;
}

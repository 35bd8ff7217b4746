/** `value` against `target`, as the word the report and the bench tables print: 'met' or 'missed (1.40x)'. */
export function verdict(value: number, target: number, higherIsBetter = true): string {
  const met = higherIsBetter ? value >= target : value <= target;
  if (met) return 'met';
  const by = higherIsBetter ? target / value : value / target;
  return `missed (${by.toFixed(2)}x)`;
}

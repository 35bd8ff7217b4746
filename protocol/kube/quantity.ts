/**
 * Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity), parsed strictly: a
 * decimal number and an optional binary (Ki..Ei), decimal (n, u, m, k, M..E) or exponent
 * suffix, non-negative, at most 64 characters. Anything else is `undefined`, never an exception.
 * Shared by the hub (what a node reports about itself) and the agent (a Pod's requests and
 * limits, the reservations it is configured with).
 */

/** Largest quantity Kubernetes represents (int64 in its smallest unit). */
export const MAX_QUANTITY = 2 ** 63 - 1;

const QUANTITY = /^\+?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const SUFFIX: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The value of a non-negative Kubernetes quantity, or undefined when `text` is not one. */
export function parseQuantity(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const suffix = match[3] ?? '';
  const multiplier = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  const value = Number(match[1]) * (multiplier ?? Number.NaN);
  return Number.isFinite(value) ? value : undefined;
}

/** A CPU quantity in millicores, rounded up as Kubernetes' MilliValue does (`0.1` and `100m` are 100). */
export function parseCpuMillis(text: string): number | undefined {
  const value = parseQuantity(text);
  if (value === undefined || value > MAX_QUANTITY) return undefined;
  return Math.ceil(Math.round(value * 1e6) / 1e3);
}

/** A byte quantity (memory, storage), rounded up as Kubernetes' Value does. */
export function parseBytes(text: string): number | undefined {
  const value = parseQuantity(text);
  if (value === undefined || value > MAX_QUANTITY) return undefined;
  return Math.ceil(value);
}

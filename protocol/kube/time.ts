/** Kubernetes timestamps, as the hub, the API server and the agent write them into objects. */

/** metav1.Time: RFC 3339 in UTC, to the whole second (`2026-01-01T12:00:00Z`). */
export function kubeTime(at: Date | number): string {
  const ms = typeof at === 'number' ? at : at.getTime();
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** metav1.MicroTime: RFC 3339 with six fractional digits (`2026-01-01T12:00:00.123000Z`); Leases and Events use it. */
export function kubeMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * `imagePullPolicy` as the API server defaults it: Always for an image tagged `latest` or not
 * tagged at all (and not pinned by digest), IfNotPresent otherwise.
 */
export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export function pullPolicy(image: string, given: unknown): PullPolicy {
  if (given === 'Always' || given === 'IfNotPresent' || given === 'Never') return given;
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  return colon === -1 || last.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

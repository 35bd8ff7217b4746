/**
 * owner -> members, for the scope's indexes (a node's Pods, the nodes referencing a ConfigMap or
 * Secret). Most owners have one member (a per-node ConfigMap is referenced by its node only) or
 * two: a Set each would cost ~150 bytes where the member string alone costs nothing more, and
 * with 20,000 objects that is megabytes of a hub with no node connected. So an owner holds its
 * member directly and gets a Set only from the second one on.
 */
export class KeyIndex {
  private readonly owners = new Map<string, string | Set<string>>();

  add(owner: string, member: string): void {
    const current = this.owners.get(owner);
    if (current === undefined) this.owners.set(owner, member);
    else if (typeof current === 'string') {
      if (current !== member) this.owners.set(owner, new Set([current, member]));
    } else current.add(member);
  }

  remove(owner: string, member: string): void {
    const current = this.owners.get(owner);
    if (current === undefined) return;
    if (typeof current === 'string') {
      if (current === member) this.owners.delete(owner);
      return;
    }
    current.delete(member);
    if (current.size === 1) this.owners.set(owner, current.values().next().value as string);
    else if (current.size === 0) this.owners.delete(owner);
  }

  /** The owner's members (a snapshot only for a single member; do not change the index while iterating). */
  members(owner: string): Iterable<string> {
    const current = this.owners.get(owner);
    if (current === undefined) return [];
    return typeof current === 'string' ? [current] : current;
  }

  count(owner: string): number {
    const current = this.owners.get(owner);
    return current === undefined ? 0 : typeof current === 'string' ? 1 : current.size;
  }
}

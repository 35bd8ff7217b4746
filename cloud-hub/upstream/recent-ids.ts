/**
 * The ids recently seen from each node, to drop redeliveries of at-least-once traffic without
 * unbounded memory. Ids are per node: one node's id never hides another node's event, and no
 * node can push more than `perNode` ids, so a flood from one node cannot evict what another
 * node sent. Beyond `capacity` ids in all, the oldest go first, whichever node sent them.
 */
export class RecentIds {
  /** `node\nid` -> node, oldest first. Node names cannot contain a newline. */
  private readonly all = new Map<string, string>();
  /** node -> its entries of `all`, oldest first. */
  private readonly byNode = new Map<string, Set<string>>();

  constructor(
    private readonly capacity: number,
    private readonly perNode: number,
  ) {}

  get size(): number {
    return this.all.size;
  }

  /** True the first time `node` sends `id` (within its last `perNode` ids). */
  firstSighting(node: string, id: string): boolean {
    const entry = `${node}\n${id}`;
    if (this.all.has(entry)) return false;
    let own = this.byNode.get(node);
    if (!own) {
      own = new Set();
      this.byNode.set(node, own);
    }
    this.all.set(entry, node);
    own.add(entry);
    if (own.size > this.perNode) this.evict(own.values().next().value as string);
    if (this.all.size > this.capacity) this.evict(this.all.keys().next().value as string);
    return true;
  }

  /** Forgets `id` from `node`, so a redelivery of it is handled again (its first delivery failed or was refused). */
  forget(node: string, id: string): void {
    this.evict(`${node}\n${id}`);
  }

  private evict(entry: string): void {
    const node = this.all.get(entry);
    if (node === undefined) return;
    this.all.delete(entry);
    const own = this.byNode.get(node);
    own?.delete(entry);
    if (own?.size === 0) this.byNode.delete(node);
  }
}

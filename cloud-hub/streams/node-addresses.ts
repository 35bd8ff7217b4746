/**
 * Which node has which address (status.addresses of the Nodes the hub watches): how the hub's
 * kubelet endpoint finds the node kube-apiserver meant when it dialled a Node's address and the
 * network brought it to the hub (deploy/README.md). An address two nodes report names neither.
 */
export class NodeAddresses {
  private readonly byNode = new Map<string, string[]>();
  private readonly byAddress = new Map<string, Set<string>>();

  /** A Node as the API has it (status included); `deleted` when it is gone. */
  observe(raw: unknown, deleted: boolean): void {
    const node = raw as { metadata?: { name?: unknown }; status?: { addresses?: unknown } };
    const name = node.metadata?.name;
    if (typeof name !== 'string') return;
    for (const address of this.byNode.get(name) ?? []) {
      const nodes = this.byAddress.get(address);
      nodes?.delete(name);
      if (nodes?.size === 0) this.byAddress.delete(address);
    }
    this.byNode.delete(name);
    if (deleted) return;
    const addresses = Array.isArray(node.status?.addresses)
      ? (node.status.addresses as { address?: unknown }[]).map((entry) => entry.address).filter((address): address is string => typeof address === 'string' && address !== '')
      : [];
    this.byNode.set(name, addresses);
    for (const address of addresses) {
      const nodes = this.byAddress.get(address) ?? new Set<string>();
      nodes.add(name);
      this.byAddress.set(address, nodes);
    }
  }

  /** The one node with this address, else undefined. */
  nodeOf(address: string): string | undefined {
    const nodes = this.byAddress.get(address);
    return nodes?.size === 1 ? [...nodes][0] : undefined;
  }
}

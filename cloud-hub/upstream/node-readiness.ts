/**
 * Whether each edge Node's Ready condition is True, as the API server last said. The hub's
 * watch cache keeps Nodes without their status (the edge never reads it), so the Node
 * informer shows every raw Node here first. The health monitor skips nodes already marked,
 * and the Lease renewer marks a node Ready again when its heartbeats come back.
 */
import type { JsonObject } from '../../protocol/index.js';
import { EDGE_ROLE_LABEL } from './node-self-report.js';

interface RawNode {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { conditions?: { type?: string; status?: string }[] };
}

export class NodeReadiness {
  private readonly ready = new Map<string, boolean>();

  /** A Node as the API server sent it (status included). */
  observe(raw: JsonObject, deleted = false): void {
    const node = raw as RawNode;
    const name = node.metadata?.name;
    if (!name) return;
    if (deleted || node.metadata?.labels?.[EDGE_ROLE_LABEL] === undefined) {
      this.ready.delete(name);
      return;
    }
    const condition = node.status?.conditions?.find((c) => c.type === 'Ready');
    this.ready.set(name, condition?.status === 'True');
  }

  /** True or false as last seen; undefined for a node not seen (yet) or not an edge node. */
  isReady(node: string): boolean | undefined {
    return this.ready.get(node);
  }
}

/**
 * The part of a control plane the embedded API emulates so edge autonomy can be proven without
 * a real cluster: every `--node-monitor-period` it lists Nodes and Pods once and runs the node
 * lifecycle (node-lifecycle.ts), the taint-based eviction (taint-eviction.ts) and the orphaned
 * pod GC (pod-gc.ts) over them, in that order, in-process on the registry (what they write goes
 * through the same group commit and watches as any client's write). The DefaultTolerationSeconds
 * admission is default-tolerations.ts, hooked into the registry's create.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import { FieldSelector, LabelSelector, ObjectFilter, objectField, stringField } from '../../protocol/kube/index.js';
import type { ControllerSettings } from './controller-settings.js';
import { NodeLifecycle } from './node-lifecycle.js';
import { PodGc } from './pod-gc.js';
import type { ObjectRegistry } from './registry.js';
import type { ResourceCatalog } from './resources.js';
import { TaintEviction } from './taint-eviction.js';

export interface ClusterControllersDeps {
  registry: ObjectRegistry;
  catalog: ResourceCatalog;
  logger: Logger;
  settings: ControllerSettings;
}

const EVERYTHING = new ObjectFilter(undefined, new LabelSelector([]), new FieldSelector([]));

export class ClusterControllers {
  private readonly lifecycle: NodeLifecycle;
  private readonly eviction: TaintEviction;
  private readonly gc: PodGc;
  private timer: NodeJS.Timeout | undefined;
  /** Pods deleted by the taint-based eviction since start. */
  evictions = 0;

  constructor(private readonly deps: ClusterControllersDeps) {
    const { registry, catalog, logger, settings } = deps;
    this.lifecycle = new NodeLifecycle({ registry, catalog, logger, gracePeriodMs: settings.nodeMonitorGracePeriodMs });
    this.eviction = new TaintEviction({ registry, catalog, logger, onEvicted: () => (this.evictions += 1) });
    this.gc = new PodGc({ registry, catalog, logger, quarantineMs: settings.nodeMonitorGracePeriodMs });
  }

  start(): void {
    this.timer = setInterval(() => this.tick(Date.now()), this.deps.settings.nodeMonitorPeriodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round of every controller. Errors are logged, never thrown: the next round tries again. */
  tick(now: number): void {
    const { registry, catalog, logger } = this.deps;
    try {
      const nodes = this.lifecycle.tick(registry.list(catalog.get('', 'nodes'), EVERYTHING).items, now);
      const podsByNode = new Map<string, JsonObject[]>();
      for (const pod of registry.list(catalog.get('', 'pods'), EVERYTHING).items) {
        const node = stringField(objectField(pod, 'spec'), 'nodeName') ?? '';
        if (node === '') continue;
        let pods = podsByNode.get(node);
        if (!pods) podsByNode.set(node, (pods = []));
        pods.push(pod);
      }
      this.eviction.tick(nodes, podsByNode, now);
      this.gc.tick(nodes, podsByNode, now);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'control loop round failed');
    }
  }
}

/**
 * The part of a control plane the embedded API emulates so edge autonomy can be proven without
 * a real cluster: every `--node-monitor-period` it runs the node lifecycle (node-lifecycle.ts),
 * the taint-based eviction (taint-eviction.ts) and the orphaned pod GC (pod-gc.ts), in that
 * order, over an in-memory view fed by the watch fan-out (cluster-view.ts), in-process on the
 * registry (what they write goes through the same group commit and watches as any client's write). The DefaultTolerationSeconds
 * admission is default-tolerations.ts, hooked into the registry's create.
 */
import type { Logger } from 'pino';
import { ClusterView } from './cluster-view.js';
import type { ControllerSettings } from './controller-settings.js';
import { NodeLifecycle } from './node-lifecycle.js';
import { PodGc } from './pod-gc.js';
import type { ObjectRegistry } from './registry.js';
import type { ResourceCatalog } from './resources.js';
import { TaintEviction } from './taint-eviction.js';
import type { WatchFanout } from './watch-fanout.js';

export interface ClusterControllersDeps {
  registry: ObjectRegistry;
  catalog: ResourceCatalog;
  fanout: WatchFanout;
  logger: Logger;
  settings: ControllerSettings;
}

export class ClusterControllers {
  private readonly lifecycle: NodeLifecycle;
  private readonly eviction: TaintEviction;
  private readonly gc: PodGc;
  private readonly view: ClusterView;
  private timer: NodeJS.Timeout | undefined;
  /** Pods deleted by the taint-based eviction since start. */
  evictions = 0;

  constructor(private readonly deps: ClusterControllersDeps) {
    const { registry, catalog, logger, settings } = deps;
    this.view = new ClusterView(registry, catalog, deps.fanout);
    this.lifecycle = new NodeLifecycle({ registry, catalog, logger, gracePeriodMs: settings.nodeMonitorGracePeriodMs });
    this.eviction = new TaintEviction({ registry, catalog, logger, onEvicted: () => (this.evictions += 1) });
    this.gc = new PodGc({ registry, catalog, logger, quarantineMs: settings.nodeMonitorGracePeriodMs });
  }

  start(): void {
    this.view.start();
    this.timer = setInterval(() => this.tick(Date.now()), this.deps.settings.nodeMonitorPeriodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.view.stop();
  }

  /** One round of every controller. Errors are logged, never thrown: the next round tries again. */
  tick(now: number): void {
    try {
      this.lifecycle.tick(this.view, now);
      this.eviction.tick(this.view, now);
      this.gc.tick(this.view, now);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'control loop round failed');
    }
  }
}

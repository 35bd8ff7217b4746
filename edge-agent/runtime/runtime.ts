/**
 * What the reconciler needs from a pod runtime. The first implementation runs each container
 * as an OS process (`process-runtime.ts`); the CRI runtime (`cri/cri-runtime.ts`) runs them as
 * containers; `runtime-router.ts` puts both behind one.
 *
 * The reconciler is level-triggered: it calls `syncPod` for every Pod the node should run and
 * `killPod` for every Pod it should not, as often as it likes. The runtime makes actual match
 * desired for that one Pod and reports what happened through `onChange`.
 */
import type { JsonObject } from '../../protocol/index.js';

/** Something worth an upstream event: a container started, exited, was OOM-killed, backed off... */
export interface RuntimeEvent {
  /** Object key of the Pod: `Pod/namespace/name`. */
  pod: string;
  container?: string;
  /** `Normal` or `Warning`, as Kubernetes events. */
  type: 'Normal' | 'Warning';
  /** Kubernetes-style reason: Started, Killing, BackOff, Completed, Failed, OOMKilled, ... */
  reason: string;
  message: string;
  /** ms since the epoch. */
  at: number;
}

export interface Runtime {
  /** Adopts the Pods that survived an agent restart (their processes keep running) and starts supervising. */
  start(): Promise<void>;
  /**
   * Makes the Pod's actual state match `pod` (the cached object): creates it, restarts a
   * container whose spec changed, rewrites mounted ConfigMap/Secret/downward API files whose
   * content changed (env is not changed for a running container, as with the kubelet), and
   * applies the restart policy. Idempotent.
   */
  syncPod(pod: JsonObject): Promise<void>;
  /** Stops every container of the Pod (SIGTERM, then SIGKILL after the grace period) and removes its files. */
  killPod(key: string, gracePeriodSeconds: number): Promise<void>;
  /** Keys of the Pods the runtime has (running, waiting or terminated). */
  pods(): string[];
  /** The Pod's Kubernetes `status` as the runtime sees it now, or undefined for a Pod it does not have. */
  podStatus(key: string): JsonObject | undefined;
  /** The uid of the Pod instance the runtime has under `key` (whose status `podStatus` gives). */
  podUid?(key: string): string | undefined;
  /** Called when a Pod's status may have changed, with the event when there is one. */
  onChange(listener: (key: string, event?: RuntimeEvent) => void): () => void;
  /** Stops supervising; running containers keep running (they are not the agent's children). */
  stop(): Promise<void>;
}

/** How the runtime reads the ConfigMaps and Secrets a Pod references: from the agent's cache. */
export interface ObjectLookup {
  get(key: string): JsonObject | undefined;
}

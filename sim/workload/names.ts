/**
 * Names of everything the simulator creates. One place, so the driver, the workers and the
 * verification agree on which keys are the simulator's and which object a change targets.
 */

/** Carried by every simulator object, so a later run can find and remove leftovers. */
export const SIM_LABEL = 'edge-sync.io/sim';
/**
 * When the driver sent the write, ms since the epoch (fractional). Workers read it from the
 * object they applied to measure write -> edge apply; each change sets a new value.
 */
export const WRITTEN_AT = 'edge-sync.io/sim-written-at';

export const SHARED_CONFIG = 'shared-config';
export const SHARED_SECRET = 'shared-secret';

export class FleetNames {
  constructor(
    readonly prefix: string,
    readonly namespace: string,
  ) {}

  /** `sim-00042`: zero-padded so nodes sort in creation order. */
  node(index: number): string {
    return `${this.prefix}-${String(index).padStart(5, '0')}`;
  }

  nodes(count: number): string[] {
    return Array.from({ length: count }, (_, i) => this.node(i));
  }

  nodeConfig(node: string): string {
    return `cfg-${node}`;
  }

  nodeSecret(node: string): string {
    return `sec-${node}`;
  }

  /** Initial Pods are `<node>-p<i>`; Pods the churn creates are `<node>-c<serial>`. */
  pod(node: string, index: number): string {
    return `${node}-p${index}`;
  }

  churnPod(node: string, serial: number): string {
    return `${node}-c${serial}`;
  }

  /** Cache key of the object every node references (the fan-out target). */
  get sharedConfigKey(): string {
    return `ConfigMap/${this.namespace}/${SHARED_CONFIG}`;
  }
}

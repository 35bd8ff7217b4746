/**
 * The settings of the control-plane behaviour the embedded API emulates (node lifecycle,
 * taint-based eviction, pod GC, the DefaultTolerationSeconds admission), and their flags, named
 * after kube-controller-manager's and kube-apiserver's so an operator reads them as such.
 * Declared once for `cloud-hub apiserver` and `cloud-hub --embedded`.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';

export interface ControllerSettings {
  /** A node whose Lease and Ready heartbeat have not changed for this long is Ready=Unknown and tainted unreachable (kube: 40 s). */
  nodeMonitorGracePeriodMs: number;
  /** How often nodes, taints, evictions and orphaned pods are checked (kube: 5 s). */
  nodeMonitorPeriodMs: number;
  /** tolerationSeconds of the unreachable toleration added to pods that have none (kube-apiserver: 300). */
  defaultUnreachableTolerationSeconds: number;
  /** tolerationSeconds of the not-ready toleration added to pods that have none (kube-apiserver: 300). */
  defaultNotReadyTolerationSeconds: number;
}

export const DEFAULT_CONTROLLER_SETTINGS: ControllerSettings = {
  nodeMonitorGracePeriodMs: 40_000,
  nodeMonitorPeriodMs: 5_000,
  defaultUnreachableTolerationSeconds: 300,
  defaultNotReadyTolerationSeconds: 300,
};

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as kube's flags take it (`40s`, `500ms`, `1m30s`, `2h`), in milliseconds; more than 0. */
export function parseGoDuration(value: string): number {
  const text = value.trim();
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (text === '' || parts.map((part) => part[0]).join('') !== text) {
    throw new InvalidArgumentError(`expected a duration such as 40s, 500ms or 1m30s, got ${JSON.stringify(value)}`);
  }
  const ms = parts.reduce((sum, part) => sum + Number(part[1]) * UNIT_MS[part[2]!]!, 0);
  if (!(ms >= 1)) throw new InvalidArgumentError(`expected a duration of at least 1ms, got ${JSON.stringify(value)}`);
  return Math.round(ms);
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number of seconds (0 or more), got ${JSON.stringify(value)}`);
  return n;
}

const ms = (value: number): string => (value % 1000 === 0 ? `${value / 1000}s` : `${value}ms`);

/** Adds the flags to `command`. */
export function withControllerFlags(command: Command): Command {
  const d = DEFAULT_CONTROLLER_SETTINGS;
  return command
    .addOption(
      new Option('--node-monitor-grace-period <duration>', 'embedded API: a node whose Lease has not been renewed for this long is Ready=Unknown and tainted node.kubernetes.io/unreachable:NoExecute (as kube-controller-manager)')
        .default(d.nodeMonitorGracePeriodMs, ms(d.nodeMonitorGracePeriodMs))
        .argParser(parseGoDuration)
        .env('EDGE_NODE_MONITOR_GRACE_PERIOD'),
    )
    .addOption(
      new Option('--node-monitor-period <duration>', 'embedded API: how often node health, NoExecute evictions and orphaned pods are checked')
        .default(d.nodeMonitorPeriodMs, ms(d.nodeMonitorPeriodMs))
        .argParser(parseGoDuration)
        .env('EDGE_NODE_MONITOR_PERIOD'),
    )
    .addOption(
      new Option('--default-unreachable-toleration-seconds <n>', 'embedded API: tolerationSeconds of the unreachable:NoExecute toleration added to every new pod without one (as kube-apiserver): how long a pod survives its node\'s outage')
        .default(d.defaultUnreachableTolerationSeconds)
        .argParser(parseSeconds)
        .env('EDGE_DEFAULT_UNREACHABLE_TOLERATION_SECONDS'),
    )
    .addOption(
      new Option('--default-not-ready-toleration-seconds <n>', 'embedded API: the same for the not-ready:NoExecute toleration')
        .default(d.defaultNotReadyTolerationSeconds)
        .argParser(parseSeconds)
        .env('EDGE_DEFAULT_NOT_READY_TOLERATION_SECONDS'),
    );
}

/** The settings from parsed flags (commander's camel-cased names). */
export function controllerSettingsFrom(flags: {
  nodeMonitorGracePeriod: number;
  nodeMonitorPeriod: number;
  defaultUnreachableTolerationSeconds: number;
  defaultNotReadyTolerationSeconds: number;
}): ControllerSettings {
  return {
    nodeMonitorGracePeriodMs: flags.nodeMonitorGracePeriod,
    nodeMonitorPeriodMs: flags.nodeMonitorPeriod,
    defaultUnreachableTolerationSeconds: flags.defaultUnreachableTolerationSeconds,
    defaultNotReadyTolerationSeconds: flags.defaultNotReadyTolerationSeconds,
  };
}

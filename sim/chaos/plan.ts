/**
 * The chaos schedule, worked out in full before the first fault from the seed and the run's
 * shape (nodes, duration, fault count, kinds): when each fault strikes, which nodes it hits,
 * how long it holds, which signal, which corruption. The same seed and flags give the same
 * plan, so a failing run can be replayed fault for fault (the timing of the churn and of the
 * fleet's reconnects is the machine's, not the seed's).
 */
import type { Corruption } from '../fleet/cache-corruption.js';
import { SeededRandom } from '../random/seeded-random.js';

export const FAULT_KINDS = ['hub-kill', 'api-restart', 'link-cut', 'agent-restart', 'cache-corrupt'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  /** 1-based, in schedule order. */
  n: number;
  kind: FaultKind;
  /** When it strikes, ms after the scenario starts. */
  atMs: number;
  /** The nodes it hits (link-cut, agent-restart, cache-corrupt); empty for process faults. */
  nodes: string[];
  /** How long it holds: the link cut's length, or how long the process or agent stays down. */
  holdMs: number;
  /** hub-kill: always SIGKILL; api-restart: SIGTERM (clean stop) or SIGKILL. */
  signal?: 'SIGKILL' | 'SIGTERM';
  /** cache-corrupt: garbage over the file header, or over one of the file's b-tree pages. */
  corruption?: Corruption;
  /** cache-corrupt: seed of the garbage bytes. */
  bytesSeed?: number;
}

export interface ChaosPlanOptions {
  seed: number;
  nodes: readonly string[];
  durationMs: number;
  faults: number;
  kinds: readonly FaultKind[];
}

/** Faults strike inside this share of the duration; the rest is churn with no new fault. */
const FAULT_WINDOW = { from: 0.05, to: 0.75 } as const;
/** Every link cut is restored by this share of the duration. */
const RESTORED_BY = 0.9;
/** A corrupted node is not one cut around the same time: its outbox must drain first. */
const CUT_MARGIN_MS = 10_000;

export function planChaos(options: ChaosPlanOptions): PlannedFault[] {
  const { nodes, durationMs, faults, kinds } = options;
  if (kinds.length === 0) throw new Error('name at least one fault kind');
  if (nodes.length === 0) throw new Error('chaos needs at least one node');
  const random = new SeededRandom(options.seed);
  // Kinds in shuffled rounds: every kind once per round, so a run of at least one round hits each.
  const order: FaultKind[] = [];
  while (order.length < faults) order.push(...random.shuffle(kinds));
  order.length = faults;

  const start = durationMs * FAULT_WINDOW.from;
  const slot = (durationMs * (FAULT_WINDOW.to - FAULT_WINDOW.from)) / Math.max(1, faults);
  const cuts: { at: number; until: number; nodes: Set<string> }[] = [];
  const plan: PlannedFault[] = [];
  order.forEach((kind, i) => {
    const atMs = Math.round(start + slot * (i + random.between(0, 0.8)));
    const fault: PlannedFault = { n: i + 1, kind, atMs, nodes: [], holdMs: 0 };
    switch (kind) {
      case 'hub-kill':
        fault.signal = 'SIGKILL';
        fault.holdMs = random.int(0, 1_000);
        break;
      case 'api-restart':
        fault.signal = random.next() < 0.5 ? 'SIGTERM' : 'SIGKILL';
        fault.holdMs = random.int(0, 1_000);
        break;
      case 'link-cut': {
        const count = Math.max(1, Math.round(nodes.length * random.between(0.02, 0.08)));
        fault.nodes = random.sample(nodes, count);
        const longest = Math.max(500, Math.min(8_000, durationMs * RESTORED_BY - atMs));
        fault.holdMs = Math.round(Math.min(longest, random.between(1_500, Math.max(1_500, Math.min(8_000, durationMs * 0.1)))));
        cuts.push({ at: atMs, until: atMs + fault.holdMs + CUT_MARGIN_MS, nodes: new Set(fault.nodes) });
        break;
      }
      case 'agent-restart':
        fault.nodes = random.sample(nodes, Math.max(1, Math.round(nodes.length * random.between(0.005, 0.02))));
        fault.holdMs = random.int(100, 1_500);
        break;
      case 'cache-corrupt': {
        const cutNow = new Set(cuts.filter((cut) => atMs >= cut.at - CUT_MARGIN_MS && atMs <= cut.until).flatMap((cut) => [...cut.nodes]));
        const candidates = nodes.filter((node) => !cutNow.has(node));
        fault.nodes = random.sample(candidates.length > 0 ? candidates : nodes, random.int(1, 3));
        fault.holdMs = random.int(100, 1_000);
        fault.corruption = random.next() < 0.5 ? 'header' : 'page';
        fault.bytesSeed = random.int(0, 2 ** 31);
        break;
      }
    }
    plan.push(fault);
  });
  return plan;
}

/** Faults when the run does not say: one every 3 s of the duration, and at least one of each kind. */
export function defaultFaultCount(durationS: number, kinds: number): number {
  return Math.max(kinds, Math.round(durationS / 3));
}

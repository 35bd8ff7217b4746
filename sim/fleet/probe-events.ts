/**
 * Priority events for the chaos scenario: at a steady rate, a random running node of the worker
 * offers a node Warning to its agent's own upstream event path (filter with the built-in rules
 * -> SQLite outbox -> upstream pump -> hub -> a Kubernetes Event on the Node). Each carries a
 * token unique in the run in its message, so the end-of-run check can find every one in the
 * cluster whatever id the agent gave it.
 */
import type { UpstreamEvents } from '../../edge-agent/filter/upstream-events.js';
import type { SeededRandom } from '../random/seeded-random.js';

export const PROBE_REASON = 'EdgeSimProbe';
const PREFIX = 'edge-sim priority probe ';
const TOKEN = /^edge-sim priority probe (\S+)$/;

export function probeMessage(token: string): string {
  return `${PREFIX}${token}`;
}

export function probeToken(message: string | undefined): string | undefined {
  return message ? TOKEN.exec(message)?.[1] : undefined;
}

export interface ProbeTarget {
  name: string;
  events: UpstreamEvents;
}

export class ProbeEmitter {
  private timer?: NodeJS.Timeout;
  private emitted: string[] = [];
  private notForwarded: string[] = [];
  private serial = 0;
  private owed = 0;

  constructor(
    /** The worker's nodes whose agent is running now (not stopped, not being stopped). */
    private readonly running: () => ProbeTarget[],
    private readonly random: SeededRandom,
  ) {}

  start(perSecond: number, runTag: string): void {
    this.stop();
    if (perSecond <= 0) return;
    const tickMs = 100;
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.owed += (perSecond * (now - last)) / 1000;
      last = now;
      const targets = this.running();
      for (; this.owed >= 1 && targets.length > 0; this.owed -= 1) this.emit(this.random.pick(targets), runTag);
    }, tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Tokens offered since the last call: forwarded into an outbox, and turned away by the filter. */
  drain(): { emitted: string[]; notForwarded: string[] } {
    const drained = { emitted: this.emitted, notForwarded: this.notForwarded };
    this.emitted = [];
    this.notForwarded = [];
    return drained;
  }

  private emit(target: ProbeTarget, runTag: string): void {
    const token = `${runTag}/${target.name}/${++this.serial}`;
    const decision = target.events.offer({ source: 'node', type: 'Warning', reason: PROBE_REASON, message: probeMessage(token) });
    (decision.action === 'forwarded' ? this.emitted : this.notForwarded).push(token);
  }
}

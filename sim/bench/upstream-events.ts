/**
 * Bytes sent upstream for a noisy device over ten (virtual) minutes: a sensor publishing 10
 * readings/s on the local bus and a container crash-looping, with a handful of events that
 * matter (OOM kill, a failed probe, disk pressure). The built-in rules against forwarding
 * everything, in one run; the target is at least 90% fewer bytes with no priority event lost.
 */
import { encode, type EdgeEvent } from '../../protocol/index.js';
import { DEFAULT_RULES_DOCUMENT } from '../../edge-agent/filter/default-rules.js';
import { FilterEngine } from '../../edge-agent/filter/engine.js';
import { validateRuleSet } from '../../edge-agent/filter/rule-set.js';
import type { CandidateEvent } from '../../edge-agent/filter/candidate.js';
import type { Scheduler } from '../../edge-agent/filter/scheduler.js';
import { verdict } from './measure.js';
import type { BenchSection } from './section.js';

/** Virtual time: timers fire as the workload's clock passes them. */
class VirtualTime implements Scheduler {
  now = Date.UTC(2026, 10, 29, 12);
  private readonly timers: { at: number; callback: () => void; id: number }[] = [];
  private nextId = 0;

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { at: this.now + ms, callback, id: this.nextId++ };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    const index = this.timers.findIndex((timer) => timer.id === handle);
    if (index >= 0) this.timers.splice(index, 1);
  }

  advanceTo(at: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const due = this.timers[0];
      if (!due || due.at > at) break;
      this.timers.shift();
      this.now = due.at;
      due.callback();
    }
    this.now = at;
  }
}

/** The noisy ten minutes, in time order. `priority` marks the events that must reach the cloud. */
function workload(start: number): (CandidateEvent & { priority?: true })[] {
  const events: (CandidateEvent & { priority?: true })[] = [];
  let n = 0;
  const add = (at: number, event: Omit<CandidateEvent, 'id' | 'ts'>, priority = false): void => {
    events.push({ ...event, id: `e-${n++}`, ts: start + at, ...(priority ? { priority: true as const } : {}) });
  };
  const minutes = 10;
  for (let ms = 0; ms < minutes * 60_000; ms += 100) {
    add(ms, { source: 'bus', type: 'reading', reason: 'temperature', topic: 'sensors/room-1/temp', payload: { value: 21 + Math.sin(ms / 10_000), unit: 'C' } });
  }
  for (let ms = 0; ms < minutes * 60_000; ms += 1_000) add(ms, { source: 'bus', type: 'log', reason: 'debug', topic: 'app/debug/trace', payload: { line: `tick ${ms}` } });
  // The kubelet's crash loop: start, die, back off (10 s doubling to 5 min), BackOff reported every 10 s while waiting.
  let at = 0;
  let backoff = 10_000;
  while (at < minutes * 60_000) {
    add(at, { source: 'container', type: 'Normal', reason: 'Started', object: 'Pod/app/crashy', message: 'Started container main' });
    at += 2_000;
    add(at, { source: 'container', type: 'Warning', reason: 'Failed', object: 'Pod/app/crashy', message: 'container main exited with code 1' });
    for (let wait = 0; wait < backoff; wait += 10_000) add(at + wait, { source: 'container', type: 'Warning', reason: 'BackOff', object: 'Pod/app/crashy', message: `Back-off ${backoff / 1000}s restarting failed container main` });
    at += backoff;
    backoff = Math.min(backoff * 2, 300_000);
  }
  add(95_000, { source: 'container', type: 'Warning', reason: 'OOMKilled', object: 'Pod/app/worker', message: 'container worker was killed: out of memory' }, true);
  add(250_000, { source: 'pod', type: 'Warning', reason: 'Unhealthy', object: 'Pod/app/api', message: 'Liveness probe failed: connection refused' }, true);
  add(400_000, { source: 'node', type: 'Warning', reason: 'DiskPressure', message: 'free space on the data filesystem is 7.5%' }, true);
  add(401_000, { source: 'node', type: 'Warning', reason: 'ClockSkew', message: 'local clock is ahead of the hub by 4100 ms' }, true);
  return events.sort((a, b) => a.ts - b.ts);
}

function run(rules: unknown, events: ReturnType<typeof workload>, time: VirtualTime): { bytes: number; forwarded: EdgeEvent[] } {
  const forwarded: EdgeEvent[] = [];
  const engine = new FilterEngine({ rules: validateRuleSet(rules, 'bench'), clock: () => time.now, timers: time, emit: (event) => forwarded.push(event) });
  for (const event of events) {
    time.advanceTo(event.ts);
    const { priority: _priority, ...candidate } = event;
    engine.offer(candidate);
  }
  time.advanceTo(time.now + 3_600_000);
  engine.flush();
  engine.close();
  // What goes upstream: the events in event frames, as the pump batches them (up to 200 a frame).
  let bytes = 0;
  for (let i = 0; i < forwarded.length; i += 200) bytes += Buffer.byteLength(encode({ v: 1, t: 'event', events: forwarded.slice(i, i + 200) }));
  return { bytes, forwarded };
}

export function upstreamEventsBench(): BenchSection {
  const start = Date.UTC(2026, 10, 29, 12);
  const events = workload(start);
  const priorityIds = new Set(events.filter((event) => event.priority).map((event) => event.id));
  const filtered = run(DEFAULT_RULES_DOCUMENT, events, new VirtualTime());
  const everything = run({ rules: [], defaults: { unmatched: 'forward', priority: 5, ttl: '1d' } }, events, new VirtualTime());
  const lost = [...priorityIds].filter((id) => !filtered.forwarded.some((event) => event.id === id));
  const saved = 1 - filtered.bytes / everything.bytes;
  return {
    title: 'Upstream events from a noisy device, 10 minutes (10 sensor readings/s, a crash-looping container)',
    header: ['measure', 'default rules', 'baseline', 'baseline is', 'target', 'verdict'],
    rows: [
      ['events offered', events.length, events.length, '', '', ''],
      ['events sent upstream', filtered.forwarded.length, everything.forwarded.length, 'forward everything', '', ''],
      ['bytes sent upstream', filtered.bytes, everything.bytes, 'forward everything', '>= 90% fewer', verdict(saved, 0.9)],
      ['  fewer bytes than the baseline', `${(saved * 100).toFixed(1)}%`, '', '', '', ''],
      ['priority events lost', lost.length, 0, `of ${priorityIds.size} (OOMKilled, Unhealthy, DiskPressure, ClockSkew)`, '0', lost.length === 0 ? 'met' : 'missed'],
    ],
    notes: ['Frames are counted as the upstream pump builds them (up to 200 events per event frame). Sensor readings arrive as one aggregate (count, min, max, avg) per minute.'],
  };
}

/** The chaos scenario's part of the Markdown report: the verdict figures, faults by kind, and the fault timeline. */
import type { ChaosResult } from '../chaos/model.js';
import { FAULT_KINDS } from '../chaos/plan.js';
import { formatCell, markdownTable, type Cell } from './table.js';

export function chaosSection(chaos: ChaosResult): string[] {
  const events = chaos.priorityEvents;
  const rows: Cell[][] = [
    ['seed', String(chaos.seed)],
    ['faults injected (planned)', `${chaos.injected} (${chaos.planned})`],
    ['end of the faults -> every node in sync and every fault recovered, s', chaos.convergedMs === null ? 'did not converge' : seconds(chaos.convergedMs)],
    ['priority events emitted / in the cluster / lost', `${formatCell(events.emitted)} / ${formatCell(events.delivered)} / ${formatCell(events.lost)}`],
    ['priority events in the cluster more than once', events.duplicated],
    ['priority events queued in a cache file the run destroyed', events.destroyedWithCache],
    ['priority events refused by a full outbox (lost)', events.overflowed],
    ['end of the faults -> last priority event in the cluster, s', seconds(events.drainMs)],
    ['outbox rows left at the end', events.pendingInOutboxes],
    ['damaged caches moved aside on open', `${chaos.corruptedCaches.detected} of ${chaos.corruptedCaches.injected}`],
  ];
  const out = [markdownTable(['chaos', 'value'], rows), ''];
  if (events.lostExamples.length > 0) out.push(`Lost priority events (first few): ${events.lostExamples.join(', ')}`, '');
  for (const line of events.stuck ?? []) out.push(`- ${line}`);
  if ((events.stuck ?? []).length > 0) out.push('');
  out.push(`Delivery: ${events.guarantee}.`, '', `Replay this schedule: \`${chaos.reproduce}\``, '');
  out.push(
    '### Faults by kind',
    '',
    markdownTable(
      ['kind', 'injected', 'nodes hit', 'recovered', 'overtaken by a hub kill', 'recovery p50 / max, s'],
      FAULT_KINDS.map((kind) => {
        const k = chaos.byKind[kind];
        return [kind, k.injected, k.nodes, `${k.recovered} of ${k.injected}`, k.overtaken, k.recoveryP50Ms === null ? '-' : `${seconds(k.recoveryP50Ms)} / ${seconds(k.recoveryMaxMs ?? 0)}`];
      }),
    ),
    '',
    '### Fault timeline',
    '',
    markdownTable(
      ['#', 'at, s', 'planned at, s', 'kind', 'nodes', 'what happened', 'recovered after, s'],
      chaos.timeline.map((fault) => [fault.n, seconds(fault.atMs), seconds(fault.plannedAtMs), fault.kind, fault.nodes.length, fault.detail, recovery(fault)]),
    ),
    '',
    'A fault runs later than planned when the one before it on the same process (hub or API) was still restarting. ' +
      'Recovery is timed from the end of the fault (the process ready again, the link restored, the agent reopened) to the last affected node back in sync ' +
      '(for an API restart: to a write through the restarted API reaching every node in sync at the time); a later fault hitting the same nodes can stretch it, ' +
      'and a hub kill, which drops every connection, overtakes the faults still open (its own recovery covers their nodes).',
    '',
  );
  return out;
}

function recovery(fault: ChaosResult['timeline'][number]): string {
  const back = fault.nodesBack;
  const median = back && back.of > 1 && back.p50Ms !== null ? ` (median node ${seconds(back.p50Ms)})` : '';
  if (fault.recoveredMs !== null) return `${seconds(fault.recoveredMs)}${median}`;
  const partial = back ? `, ${formatCell(back.back)} of ${formatCell(back.of)} nodes back${median}` : '';
  return fault.overtakenBy === undefined ? `not recovered${partial}` : `overtaken by #${fault.overtakenBy}${partial}`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** The report as Markdown: what ran, the headline figures against their targets, then one table per scenario. */
import { chaosSection } from './chaos-markdown.js';
import { formatCell, markdownTable, type Cell } from './table.js';
import type { ScenarioReport, SimReport } from './model.js';

const KB = 1024;

export function reportMarkdown(report: SimReport): string {
  const { config } = report;
  const out: string[] = [];
  out.push(
    `# edge-sim: ${formatCell(config.nodes)} nodes, ${config.scenarios.join(' + ')}`,
    '',
    `${config.transport} to ${config.ownCluster ? 'its own hub' : config.hub}; ${config.podsPerNode} Pods per node, churn ${config.churn}/s, ${config.durationS} s per scenario, ` +
      `${config.workers} worker threads, ${config.sqlite ? 'SQLite caches' : 'in-memory caches'}, seed ${config.seed}; ${report.startedAt}, ${report.wallSeconds.toFixed(0)} s in all.`,
    '',
  );
  const rows: Cell[][] = [
    ['divergent nodes (cache digest != desired set)', `${report.verification.divergent} of ${formatCell(report.verification.nodes)}`],
    ['latency write -> edge apply p50 / p90 / p99 / max, ms', `${fmt(report.latency.p50)} / ${fmt(report.latency.p90)} / ${fmt(report.latency.p99)} / ${fmt(report.latency.max)}`],
    ['live deliveries (per s)', `${formatCell(report.deliveries.live)} (${fmt(report.deliveries.livePerSecond)}/s)`],
    ['deliveries inside resyncs, deletes', `${formatCell(report.deliveries.resync)}, ${formatCell(report.deliveries.deletes)}`],
    ['bytes down / up per node', `${fmt(report.traffic.bytesDownPerNode / KB)} KiB / ${fmt(report.traffic.bytesUpPerNode / KB)} KiB`],
    ['frames down / up per node', `${fmt(report.traffic.framesDownPerNode)} / ${fmt(report.traffic.framesUpPerNode)}`],
    ['connect + initial sync of the fleet, s', fmt(report.setup.connectSeconds)],
    ['hub RSS before nodes / idle with all connected / at the end, MB', `${mb(report.hub.rssBeforeNodesBytes)} / ${mb(report.hub.rssIdleBytes)} / ${mb(report.hub.rssEndBytes)}`],
    ['hub RSS per idle connected node, KB', report.hub.rssPerIdleNodeBytes === null ? '-' : fmt(report.hub.rssPerIdleNodeBytes / KB)],
    ['hub CPU, s', report.hub.cpuSeconds === null ? '-' : fmt(report.hub.cpuSeconds)],
    ['settled and checked in, s', fmt(report.verification.settleMs / 1000)],
  ];
  out.push(markdownTable(['measure', 'value'], rows), '');
  out.push('## Targets', '', markdownTable(['measure', 'value', 'unit', 'target', 'verdict'], report.targets.map((t) => [t.measure, t.value === null ? '-' : fmt(t.value), t.unit, t.target, t.verdict])), '');
  for (const scenario of report.scenarios) out.push(...scenarioSection(scenario));
  if (report.verification.examples.length > 0) {
    out.push('## Divergent nodes (first few)', '', markdownTable(['node', 'objects expected', 'objects held', 'link'], report.verification.examples.map((d) => [d.node, d.expectedObjects, d.heldObjects, d.link])), '');
  }
  out.push(
    'Latency is timed from the moment the driver sent the write to the API (the `edge-sync.io/sim-written-at` annotation) to the virtual node committing the change to its cache, ' +
      'for changes that arrive in the live stream; changes a node receives inside a resync (after a reconnect) are counted separately and have no latency.',
    '',
  );
  return out.join('\n');
}

function scenarioSection(scenario: ScenarioReport): string[] {
  const rows: Cell[][] = [['duration, s', fmt(scenario.seconds)]];
  if (scenario.churn) {
    rows.push(['changes written (asked / achieved per s)', `${formatCell(scenario.churn.done)} (${scenario.churn.rate} / ${fmt(scenario.churn.achievedRate)})`]);
    if (scenario.churn.failed > 0) rows.push(['failed writes', `${scenario.churn.failed}: ${scenario.churn.firstError ?? ''}`]);
    rows.push(['API write p50 / p99, ms', `${fmt(scenario.churn.writeP50Ms)} / ${fmt(scenario.churn.writeP99Ms)}`]);
  }
  rows.push(['latency p50 / p90 / p99 / max, ms', `${fmt(scenario.latency.p50)} / ${fmt(scenario.latency.p90)} / ${fmt(scenario.latency.p99)} / ${fmt(scenario.latency.max)}`]);
  rows.push(['live deliveries per s', fmt(scenario.liveDeliveriesPerSecond)]);
  if (scenario.hubCpuPercent !== null) rows.push(['hub CPU, % of a core', fmt(scenario.hubCpuPercent)]);
  if (scenario.fanout) {
    const f = scenario.fanout;
    rows.push([`one change to every node, median / max of ${f.rounds} rounds, ms`, `${fmt(f.medianMs)} / ${fmt(f.maxMs)}`]);
    rows.push(['bytes per node per change', formatCell(f.frameBytes)]);
    if (f.incomplete > 0) rows.push(['rounds that did not reach every node', f.incomplete]);
  }
  const recovery = scenario.storm ?? scenario.partition;
  if (scenario.storm) {
    rows.push(['hub kill -9 -> restarted hub ready, s', fmt(scenario.storm.hubRestartMs / 1000)]);
    rows.push(['restarted hub ready -> last node in sync, s', fmt(scenario.storm.fromHubReadyMs / 1000)]);
    rows.push(['resyncs answered with an equal digest / with differences', `${formatCell(scenario.storm.resyncsEqual)} / ${formatCell(scenario.storm.resyncsDiff)}`]);
  }
  if (scenario.partition) {
    const p = scenario.partition;
    rows.push(['nodes cut off, for s', `${formatCell(p.cutNodes)}, ${fmt(p.cutSeconds)}`]);
    rows.push(['cut nodes tainted unreachable (NoExecute) before the heal', formatCell(p.taintedNodes)]);
    rows.push(['pods of cut nodes deleted, of watched (must be 0)', `${formatCell(p.podsDeleted)} of ${formatCell(p.watchedPods)}`]);
    rows.push(['TaintManagerEviction events of those pods since the cut', formatCell(p.evictions)]);
  }
  if (recovery) {
    rows.push([scenario.storm ? 'kill -9 -> every node back in sync, s' : 'heal -> every cut node in sync, s', fmt(recovery.recoveryMs / 1000)]);
    rows.push(['nodes back in sync', `${formatCell(recovery.recovered)} of ${formatCell(recovery.nodes)}`]);
    rows.push(['frames down per node, mean / max', `${fmt(recovery.framesDownPerNode.mean)} / ${formatCell(recovery.framesDownPerNode.max)}`]);
    rows.push(['bytes down per node, mean / p50 / max', `${fmt(recovery.bytesDownPerNode.mean)} / ${formatCell(recovery.bytesDownPerNode.p50)} / ${formatCell(recovery.bytesDownPerNode.max)}`]);
    rows.push(['bytes up per node (hello with the have list), mean / max', `${fmt(recovery.bytesUpPerNode.mean)} / ${formatCell(recovery.bytesUpPerNode.max)}`]);
  }
  if (scenario.flap) {
    rows.push(['connections dropped', formatCell(scenario.flap.flaps)]);
    rows.push(['resyncs', formatCell(scenario.flap.resyncs)]);
    rows.push(['changes delivered inside resyncs', formatCell(scenario.flap.resyncDeliveries)]);
  }
  return [`## ${scenario.name}`, '', markdownTable(['measure', 'value'], rows), '', ...(scenario.chaos ? chaosSection(scenario.chaos) : [])];
}

function fmt(value: number): string {
  return Number.isFinite(value) ? formatCell(Math.round(value * 100) / 100) : '-';
}

function mb(bytes: number | null): string {
  return bytes === null || !Number.isFinite(bytes) ? '-' : fmt(bytes / 1048576);
}

/**
 * One `edge-sim` run: a cluster (given, or started here), node tokens, the workload, the fleet
 * of virtual nodes in worker threads, the scenarios in order, the final digest check, and the
 * report. Every external thing it starts it also stops, whatever happens.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TokenAdmin } from '../../cloud-hub/auth/token-admin.js';
import { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { OwnCluster } from '../cluster/own-cluster.js';
import { Fleet } from '../fleet/fleet.js';
import { LatencyHistogram } from '../metrics/latency-histogram.js';
import type { HubSample } from '../metrics/hub-metrics.js';
import { HubWatch } from '../metrics/hub-watch.js';
import { round, summarize, type ScenarioReport, type SimReport, type TimelinePoint } from '../report/model.js';
import { Progress } from '../report/progress.js';
import { targetRows } from '../report/targets.js';
import type { ScenarioContext, ScenarioResult } from '../scenarios/context.js';
import { SCENARIO_RUNNERS } from '../scenarios/index.js';
import { DesiredSets } from '../verify/desired-sets.js';
import { verifyConvergence } from '../verify/convergence.js';
import { SeededRandom } from '../random/seeded-random.js';
import { ChurnDriver } from '../workload/churn.js';
import { KubeWriter } from '../workload/kube-writer.js';
import { FleetNames } from '../workload/names.js';
import { createWorkload } from '../workload/setup.js';
import { checkOpenFiles } from './fd-limit.js';
import { ownsCluster, type SimOptions } from '../scenarios/options.js';
import { allSynced, settle } from './settle.js';

export interface SimulationIo {
  stderr: NodeJS.WriteStream;
}

export class Simulation {
  /** What `dispose` must stop, whether the run ends, fails or is interrupted. */
  private readonly resources: (() => unknown)[] = [];
  private disposed?: Promise<void>;
  private cluster?: OwnCluster;

  constructor(
    private readonly options: SimOptions,
    private readonly io: SimulationIo,
  ) {}

  async run(): Promise<SimReport> {
    // Chaos restarts agents over their stores and damages cache files: it needs real SQLite caches.
    const options: SimOptions = this.options.scenarios.includes('chaos') && !this.options.sqlite ? { ...this.options, sqlite: true } : this.options;
    validate(options);
    const startedAt = Date.now();
    const names = new FleetNames(options.nodePrefix, options.namespace);
    const nodeNames = names.nodes(options.nodes);
    const cluster = ownsCluster(options)
      ? new OwnCluster({
          ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
          transport: options.transport,
          hubArgs: options.hubArgs,
          ...(options.cpuProfDir ? { cpuProfDir: options.cpuProfDir } : {}),
          ...(options.hubBin ? { hubBin: options.hubBin } : {}),
          ...(options.logDir ? { logDir: options.logDir } : {}),
        })
      : undefined;
    if (cluster) {
      this.cluster = cluster;
      this.resources.push(() => cluster.close());
    }
    const sqliteDir = options.sqlite ? mkdtempSync(path.join(tmpdir(), 'edge-sim-caches-')) : undefined;
    if (sqliteDir) this.resources.push(() => rmSync(sqliteDir, { recursive: true, force: true }));
    let fleet: Fleet | undefined;
    let progress: Progress | undefined;
    const say = (text: string): void => (progress ? progress.note(text) : void this.io.stderr.write(`edge-sim: ${text}\n`));
    try {
      say(`seed ${options.seed} (replay this run's random choices with --seed ${options.seed})`);
      if (options.sqlite && !this.options.sqlite) say('the chaos scenario runs every node on a real SQLite store (--sqlite implied)');
      let kubeconfig = options.kubeconfig ?? '';
      if (cluster) {
        say(cluster.ownsApi || !options.kubeconfig ? 'starting the embedded API' : 'using the given cluster');
        await cluster.startApi();
        kubeconfig = cluster.kubeconfig;
      }
      const plainConfig = new KubeConfig();
      plainConfig.loadFromFile(kubeconfig);
      const client = new KubeClient(plainConfig, 64);
      this.resources.push(() => client.close());
      // Its own pool: the driver's writes do not queue behind the set-up's and the checks' requests.
      const writerClient = new KubeClient(plainConfig, 64);
      this.resources.push(() => writerClient.close());
      const writer = new KubeWriter(writerClient, options.namespace);

      say(`creating ${options.nodes} node tokens`);
      let phaseStart = performance.now();
      const tokens = await new TokenAdmin(client, options.hubNamespace).createMany(nodeNames, 64);
      const tokensSeconds = (performance.now() - phaseStart) / 1000;
      say(`creating the workload (${options.nodes * options.podsPerNode} Pods, ${options.nodes * 2 + 2} ConfigMaps and Secrets)`);
      const setup = await createWorkload(writer, names, nodeNames, options.podsPerNode);

      if (cluster) {
        say('starting the hub');
        await cluster.startHub();
      }
      const hubUrl = cluster ? cluster.hubUrl : options.hub;
      const hub = new HubWatch(
        () => (cluster ? cluster.metricsUrl : options.hubMetrics),
        () => cluster?.hub,
      );
      // The hub holds the workload before any node connects: the baseline of RSS per node.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const rssBefore = await hub.sample();

      fleet = new Fleet({
        hubUrl,
        tokens,
        workers: options.workers,
        ...(sqliteDir ? { sqliteDir } : {}),
        connectPerSecond: options.connectRate,
        fanoutKey: names.sharedConfigKey,
        namespace: options.namespace,
        logLevel: options.nodeLogLevel,
        seed: new SeededRandom(options.seed).derive(2).seed,
      });
      const started = fleet;
      this.resources.push(() => started.stop());
      progress = new Progress({ fleet, stream: this.io.stderr, intervalMs: options.progressIntervalMs });
      progress.phase = 'connecting';
      progress.start();
      const shown = progress;
      this.resources.push(() => shown.stop());
      say(`connecting ${options.nodes} nodes to ${hubUrl} (${options.workers} worker threads)`);
      phaseStart = performance.now();
      fleet.start();
      // A deadline, not a measurement: on a loaded machine a node whose first connects timed out waits out its backoff (up to 30 s).
      const connectBudgetMs = 120_000 + (options.nodes / Math.max(1, options.connectRate)) * 4_000;
      if (!(await allSynced(fleet, connectBudgetMs))) {
        const totals = fleet.totals();
        throw new Error(`only ${totals.synced} of ${options.nodes} nodes were in sync after ${Math.round(connectBudgetMs / 1000)} s`);
      }
      const connectSeconds = (performance.now() - phaseStart) / 1000;
      progress.phase = 'settling';
      await settle(fleet, hub, 60_000);
      // Idle: registrations done, nothing moving. What the hub holds now is per connected node.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const rssIdle = await hub.sample();
      const initialBytesDown = fleet.totals().bytesIn / options.nodes;
      say(`all ${options.nodes} nodes in sync after ${connectSeconds.toFixed(1)} s`);

      const churn = new ChurnDriver({ writer, names, nodes: nodeNames, pods: setup.pods, random: new SeededRandom(options.seed).derive(1).asFunction });
      const context: ScenarioContext = {
        options,
        fleet,
        churn,
        nodes: nodeNames,
        ...(cluster ? { cluster } : {}),
        hub,
        kube: client,
        progress,
        settle: (timeoutMs = 60_000) => settle(fleet!, hub, timeoutMs),
      };
      const scenarios: ScenarioReport[] = [];
      for (const name of options.scenarios) {
        say(`scenario ${name}`);
        const before = await hub.sample();
        const result = await SCENARIO_RUNNERS[name](context);
        if (fleet.error) throw fleet.error;
        await new Promise((resolve) => setTimeout(resolve, 600)); // the workers' last latency reports
        const after = await hub.sample();
        scenarios.push(this.scenarioReport(result, fleet, before, after, cluster?.hubReadyAt ?? 0));
        say(scenarioLine(scenarios[scenarios.length - 1]!));
      }

      progress.phase = 'settling for the final check';
      say(`waiting for the fleet to settle (at most ${options.settleTimeoutS} s), then comparing every cache with its desired set`);
      await settle(fleet, hub, options.settleTimeoutS * 1000);
      const verification = await verifyConvergence(fleet, new DesiredSets(client, options.hubNamespace), nodeNames, options.settleTimeoutS * 1000);
      const end = await hub.sample();
      const totals = fleet.totals();
      progress.stop();

      const all = new LatencyHistogram();
      for (const [, histogram] of fleet.timeline.entries()) all.merge(histogram);
      const scenarioSeconds = scenarios.reduce((sum, s) => sum + s.seconds, 0);
      const measured: Omit<SimReport, 'targets'> = {
        version: 1,
        tool: 'edge-sim',
        startedAt: new Date(startedAt).toISOString(),
        finishedAt: new Date().toISOString(),
        wallSeconds: round((Date.now() - startedAt) / 1000, 1),
        config: {
          hub: cluster ? 'auto' : options.hub,
          ownCluster: cluster !== undefined,
          transport: options.transport,
          nodes: options.nodes,
          podsPerNode: options.podsPerNode,
          churn: options.churn,
          durationS: options.durationS,
          workers: options.workers,
          scenarios: options.scenarios,
          sqlite: options.sqlite,
          seed: options.seed,
        },
        setup: {
          tokensSeconds: round(tokensSeconds),
          objectsCreated: setup.created,
          objectsRemoved: setup.removed,
          objectsSeconds: round(setup.seconds),
          connectSeconds: round(connectSeconds),
          initialBytesDownPerNode: Math.round(initialBytesDown),
        },
        latency: summarize(all),
        deliveries: { live: totals.liveDeliveries, resync: totals.resyncDeliveries, deletes: totals.deletes, livePerSecond: round(scenarioSeconds > 0 ? totals.liveDeliveries / scenarioSeconds : 0) },
        traffic: {
          bytesDownPerNode: Math.round(totals.bytesIn / options.nodes),
          bytesUpPerNode: Math.round(totals.bytesOut / options.nodes),
          framesDownPerNode: round(totals.framesIn / options.nodes),
          framesUpPerNode: round(totals.framesOut / options.nodes),
        },
        hub: {
          source: !end ? 'none' : Number.isFinite(end.connected) ? 'metrics' : 'proc',
          rssBeforeNodesBytes: rssBefore?.rssBytes ?? null,
          rssIdleBytes: rssIdle?.rssBytes ?? null,
          rssPerIdleNodeBytes: rssBefore && rssIdle ? Math.round((rssIdle.rssBytes - rssBefore.rssBytes) / options.nodes) : null,
          rssEndBytes: end?.rssBytes ?? null,
          cpuSeconds: end ? round(end.cpuSeconds) : null,
        },
        scenarios,
        verification,
        timeline: timelinePoints(fleet, startedAt),
      };
      return { ...measured, targets: targetRows(measured) };
    } finally {
      await this.dispose();
    }
  }

  /** Stops everything the run started, newest first; safe to call twice (a signal during the run). */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      for (const release of this.resources.reverse()) {
        try {
          await release();
        } catch {
          // Keep releasing the rest: an orphaned hub process is worse than a lost error.
        }
      }
    })();
    return this.disposed;
  }

  /** SIGKILL to the processes the run started, without waiting: for a simulator that exits now. */
  killProcessesNow(): void {
    this.cluster?.killNow();
  }

  private scenarioReport(result: ScenarioResult, fleet: Fleet, before: HubSample | undefined, after: HubSample | undefined, hubReadyAt: number): ScenarioReport {
    const seconds = (result.endedAt - result.startedAt) / 1000;
    const latency = fleet.timeline.between(result.startedAt, result.endedAt);
    let hubCpuPercent: number | null = null;
    if (before && after && Number.isFinite(after.cpuSeconds)) {
      // A hub restarted during the scenario (storm) counts from its start.
      const restarted = after.cpuSeconds < before.cpuSeconds || hubReadyAt > before.at;
      const cpu = restarted ? after.cpuSeconds : after.cpuSeconds - before.cpuSeconds;
      const wall = (after.at - (restarted ? hubReadyAt : before.at)) / 1000;
      hubCpuPercent = wall > 0 ? round((cpu / wall) * 100, 1) : null;
    }
    return { ...result, seconds: round(seconds), latency: summarize(latency), liveDeliveriesPerSecond: round(seconds > 0 ? latency.count / seconds : 0), hubCpuPercent };
  }
}

function validate(options: SimOptions): void {
  if (options.nodes < 1) throw new Error('--nodes must be at least 1');
  for (const name of ['storm', 'chaos'] as const) {
    if (options.scenarios.includes(name) && !ownsCluster(options)) {
      throw new Error(`the ${name} scenario kills and restarts the hub, so it needs the simulator's own hub: leave out --hub (or pass --hub auto)`);
    }
  }
  if (options.scenarios.includes('chaos') && options.kubeconfig && options.faultKinds.includes('api-restart')) {
    throw new Error('the chaos scenario\'s api-restart faults restart the simulator\'s own embedded API, but --kubeconfig names another cluster: leave out --kubeconfig, or pass --fault-kinds without api-restart');
  }
  if (!ownsCluster(options)) {
    if (!options.kubeconfig) throw new Error('--kubeconfig is required with --hub URL (the simulator writes the workload through that cluster\'s API)');
    const scheme = new URL(options.hub).protocol;
    const transport = scheme === 'mqtt:' || scheme === 'mqtts:' ? 'mqtt' : 'ws';
    if (transport !== options.transport) throw new Error(`--transport ${options.transport} does not match --hub ${options.hub}`);
  }
  checkOpenFiles(options.nodes, options.sqlite);
}

function timelinePoints(fleet: Fleet, startedAt: number): TimelinePoint[] {
  const firstSecond = Math.floor(startedAt / 1000);
  return fleet.timeline.entries().map(([second, histogram]) => ({
    second: second - firstSecond,
    count: histogram.count,
    p50: round(histogram.percentile(50)),
    p99: round(histogram.percentile(99)),
    max: round(histogram.max),
  }));
}

function scenarioLine(report: ScenarioReport): string {
  const parts = [`${report.name} done in ${report.seconds.toFixed(1)} s`];
  if (report.latency.samples > 0) parts.push(`p50 ${report.latency.p50} ms, p99 ${report.latency.p99} ms over ${report.latency.samples} deliveries`);
  if (report.fanout) parts.push(`one change to every node: median ${report.fanout.medianMs.toFixed(1)} ms`);
  if (report.storm) parts.push(`all back in sync ${(report.storm.recoveryMs / 1000).toFixed(1)} s after the kill`);
  if (report.partition) parts.push(`cut nodes caught up ${(report.partition.recoveryMs / 1000).toFixed(1)} s after the heal`);
  if (report.chaos) {
    const events = report.chaos.priorityEvents;
    parts.push(`${report.chaos.injected} faults injected; ${events.delivered} of ${events.emitted} priority events in the cluster, ${events.lost} lost`);
  }
  return parts.join('; ');
}

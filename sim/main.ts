#!/usr/bin/env node
/**
 * `edge-sim`: thousands of virtual edge agents (the agent's own link code, over real sockets,
 * in worker threads) against a real hub in another process, driven through the Kubernetes API,
 * with a live progress line and a report. The command line only; the run is sim/run/.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { FAULT_KINDS, type FaultKind } from './chaos/plan.js';
import { MAX_SEED, newSeed } from './random/seeded-random.js';
import { reportMarkdown } from './report/markdown.js';
import { gateFailures } from './report/targets.js';
import { latencySvg } from './report/svg-chart.js';
import { SCENARIOS, type ScenarioName, type SimOptions } from './scenarios/options.js';
import { Simulation } from './run/simulation.js';

const positiveInt = (value: string): number => {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return number;
};
const nonNegative = (value: string): number => {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) throw new InvalidArgumentError(`expected a number >= 0, got "${value}"`);
  return number;
};
const fraction = (value: string): number => {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || number > 1) throw new InvalidArgumentError(`expected a fraction in (0, 1], got "${value}"`);
  return number;
};
const scenarioList = (value: string): ScenarioName[] => {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name.length > 0);
  for (const name of names) if (!(SCENARIOS as readonly string[]).includes(name)) throw new InvalidArgumentError(`unknown scenario "${name}"; one or more of ${SCENARIOS.join(', ')}`);
  if (names.length === 0) throw new InvalidArgumentError('name at least one scenario');
  return names as ScenarioName[];
};
const hubUrl = (value: string): string => {
  if (value === 'auto') return value;
  try {
    const url = new URL(value);
    if (['ws:', 'wss:', 'mqtt:', 'mqtts:'].includes(url.protocol)) return value;
  } catch {
    // reported below
  }
  throw new InvalidArgumentError(`expected auto, ws://HOST:PORT or mqtt://HOST:PORT, got "${value}"`);
};
const seed = (value: string): number => {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number > MAX_SEED) throw new InvalidArgumentError(`expected an integer 0-${MAX_SEED}, got "${value}"`);
  return number;
};
const faultKinds = (value: string): FaultKind[] => {
  const kinds = value.split(',').map((kind) => kind.trim()).filter((kind) => kind.length > 0);
  for (const kind of kinds) if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new InvalidArgumentError(`unknown fault kind "${kind}"; one or more of ${FAULT_KINDS.join(', ')}`);
  if (kinds.length === 0) throw new InvalidArgumentError('name at least one fault kind');
  return [...new Set(kinds)] as FaultKind[];
};
const collect = (value: string, previous: string[]): string[] => [...previous, ...value.split(' ').filter((part) => part.length > 0)];

const option = (flags: string, description: string, env: string) => new Option(flags, description).env(`EDGE_SIM_${env}`);

const program = new Command('edge-sim')
  .description(
    'Simulate a fleet of edge nodes against a real edge-sync hub, drive changes through the Kubernetes API, and report.\n' +
      'Without --hub (or with --hub auto) the simulator starts its own embedded API and hub as separate processes.',
  )
  .showHelpAfterError()
  .addOption(option('--hub <url>', 'hub to test: ws://HOST:PORT, mqtt://HOST:PORT, or auto (start an own API and hub)', 'HUB').default('auto').argParser(hubUrl))
  .addOption(option('--hub-metrics <url>', 'the hub\'s metrics address (http://HOST:PORT) for RSS, CPU and queue depth, with --hub URL', 'HUB_METRICS'))
  .addOption(option('--kubeconfig <file>', 'the cluster the hub serves (required with --hub URL; with --hub auto, an own hub serves it instead of the embedded API)', 'KUBECONFIG'))
  .addOption(option('--nodes <n>', 'virtual edge nodes', 'NODES').default(100).argParser(positiveInt))
  .addOption(option('--pods-per-node <k>', 'Pods bound to each node', 'PODS_PER_NODE').default(2).argParser(positiveInt))
  .addOption(option('--churn <r>', 'changes per second written to the API during the scenarios', 'CHURN').default(100).argParser(nonNegative))
  .addOption(option('--duration <s>', 'seconds of each scenario\'s main phase', 'DURATION').default(30).argParser(nonNegative))
  .addOption(option('--transport <name>', 'how nodes reach the hub', 'TRANSPORT').choices(['ws', 'mqtt']).default('ws'))
  .addOption(option('--workers <w>', 'worker threads running the nodes', 'WORKERS').default(Math.max(1, availableParallelism())).argParser(positiveInt))
  .addOption(option('--report <file>', 'write the JSON report here, the Markdown table to FILE.md and the latency chart to FILE.svg', 'REPORT'))
  .addOption(option('--scenario <names>', `what to run, comma-separated and in order: ${SCENARIOS.join(', ')}`, 'SCENARIO').default(['steady'], 'steady').argParser(scenarioList))
  .addOption(option('--sqlite', 'give every node a real SQLite cache (CacheStore) in a temporary directory instead of an in-memory one', 'SQLITE'))
  .addOption(option('--namespace <ns>', 'namespace of the simulator\'s Pods, ConfigMaps and Secrets', 'NAMESPACE').default('edge-sim'))
  .addOption(option('--hub-namespace <ns>', 'the hub\'s namespace (node tokens)', 'HUB_NAMESPACE').default('edge-system'))
  .addOption(option('--node-prefix <prefix>', 'node names are PREFIX-00000, PREFIX-00001, ...', 'NODE_PREFIX').default('sim'))
  .addOption(option('--connect-rate <n>', 'nodes connected per second at the start', 'CONNECT_RATE').default(1000).argParser(positiveInt))
  .addOption(option('--partition-fraction <f>', 'share of the fleet the partition scenario cuts off', 'PARTITION_FRACTION').default(0.1).argParser(fraction))
  .addOption(option('--flap-fraction <f>', 'share of the fleet the flap scenario disconnects every second', 'FLAP_FRACTION').default(0.01).argParser(fraction))
  .addOption(option('--fanout-interval <ms>', 'gap between the fanout scenario\'s writes', 'FANOUT_INTERVAL').default(1000).argParser(positiveInt))
  .addOption(option('--settle-timeout <s>', 'how long the final check waits for every cache to match its desired set', 'SETTLE_TIMEOUT').default(120).argParser(positiveInt))
  .addOption(option('--hub-arg <args>', 'extra flags for an own hub, e.g. "--window 32" (repeatable)', 'HUB_ARGS').default([], '').argParser(collect))
  .addOption(option('--hub-bin <file>', 'the cloud-hub script an own API server and hub run (default: dist/cloud-hub/main.js; the image\'s bundle is dist-hub/cloud-hub.js, npm run build:hub)', 'HUB_BIN'))
  .addOption(option('--hub-cpu-prof <dir>', 'profile the own hub and API (node --cpu-prof) into DIR', 'HUB_CPU_PROF'))
  .addOption(option('--log-dir <dir>', 'keep the logs of the own API and hub here, one file per process start (cloud-hub-1.log, cloud-hub-2.log after a restart, ...)', 'LOG_DIR'))
  .addOption(option('--node-log-level <level>', 'log level of the virtual nodes\' link logs (stderr)', 'NODE_LOG_LEVEL').choices(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('silent'))
  .addOption(option('--progress-interval <ms>', 'progress line interval when stderr is not a terminal', 'PROGRESS_INTERVAL').default(5000).argParser(positiveInt))
  .addOption(option('--seed <n>', 'seed of every random choice (chaos schedule, churn, which nodes); printed in the report, replays a run', 'SEED').default(undefined, 'random').argParser(seed))
  .addOption(option('--faults <n>', 'chaos: faults injected over --duration (default: one every 3 s, at least one of each kind)', 'FAULTS').argParser(positiveInt))
  .addOption(option('--fault-kinds <kinds>', `chaos: the kinds of fault, comma-separated: ${FAULT_KINDS.join(', ')}`, 'FAULT_KINDS').default([...FAULT_KINDS], 'all').argParser(faultKinds))
  .addOption(option('--priority-events <r>', 'chaos: priority events per second the fleet\'s agents emit (through their filter, outbox and upstream pump)', 'PRIORITY_EVENTS').default(20).argParser(nonNegative))
  .action(async (flags: Record<string, unknown>) => {
    const options: SimOptions = {
      hub: flags.hub as string,
      ...(flags.hubMetrics ? { hubMetrics: flags.hubMetrics as string } : {}),
      ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig as string } : {}),
      nodes: flags.nodes as number,
      podsPerNode: flags.podsPerNode as number,
      churn: flags.churn as number,
      durationS: flags.duration as number,
      transport: flags.transport as SimOptions['transport'],
      workers: flags.workers as number,
      ...(flags.report ? { report: flags.report as string } : {}),
      scenarios: flags.scenario as ScenarioName[],
      sqlite: flags.sqlite === true || flags.sqlite === 'true' || flags.sqlite === '1',
      namespace: flags.namespace as string,
      hubNamespace: flags.hubNamespace as string,
      nodePrefix: flags.nodePrefix as string,
      connectRate: flags.connectRate as number,
      partitionFraction: flags.partitionFraction as number,
      flapFraction: flags.flapFraction as number,
      fanoutIntervalMs: flags.fanoutInterval as number,
      settleTimeoutS: flags.settleTimeout as number,
      hubArgs: flags.hubArg as string[],
      ...(flags.hubCpuProf ? { cpuProfDir: flags.hubCpuProf as string } : {}),
      ...(flags.hubBin ? { hubBin: flags.hubBin as string } : {}),
      ...(flags.logDir ? { logDir: flags.logDir as string } : {}),
      nodeLogLevel: flags.nodeLogLevel as string,
      progressIntervalMs: flags.progressInterval as number,
      seed: (flags.seed as number | undefined) ?? newSeed(),
      ...(flags.faults ? { faults: flags.faults as number } : {}),
      faultKinds: flags.faultKinds as FaultKind[],
      priorityEvents: flags.priorityEvents as number,
    };
    const simulation = new Simulation(options, { stderr: process.stderr });
    let stopping = false;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        // Stop the fleet and the API and hub processes this run started; a second signal does not
        // wait for them to finish, it kills them.
        if (stopping) {
          simulation.killProcessesNow();
          process.exit(130);
        }
        stopping = true;
        process.stderr.write(`\nedge-sim: ${signal}, stopping\n`);
        void simulation.dispose().finally(() => process.exit(130));
      });
    }
    // A bug outside the run's own error path must not leave the API and hub running either.
    for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
      process.on(event, (err: unknown) => {
        process.stderr.write(`edge-sim: ${event}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        simulation.killProcessesNow();
        process.exit(1);
      });
    }
    const report = await simulation.run();
    const markdown = reportMarkdown(report);
    process.stdout.write(`${markdown}\n`);
    if (options.report) {
      writeFileSync(options.report, `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(`${options.report}.md`, `${markdown}\n`);
      const phases = report.scenarios.map((s) => ({ name: s.name, fromS: (s.startedAt - Date.parse(report.startedAt)) / 1000, toS: (s.endedAt - Date.parse(report.startedAt)) / 1000 }));
      writeFileSync(`${options.report}.svg`, latencySvg(report.timeline, phases, `edge-sim: ${report.config.nodes} nodes, ${report.config.scenarios.join(' + ')}`));
      process.stderr.write(`edge-sim: report written to ${options.report} (.md, .svg)\n`);
    }
    const failures = gateFailures(report);
    for (const failure of failures) process.stderr.write(`edge-sim: ${failure}\n`);
    if (failures.length > 0) process.exitCode = 1;
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`edge-sim: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(process.exitCode && process.exitCode !== 0 ? process.exitCode : 1);
});

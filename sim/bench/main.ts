#!/usr/bin/env node
/**
 * `npm run bench`: every benchmark of the project, printed as Markdown tables with a baseline
 * measured in the same run. Targets are printed, never asserted.
 */
import { Command, Option } from 'commander';
import { writeFileSync } from 'node:fs';
import { markdownTable } from '../report/table.js';
import { agentRssBench } from './agent-rss.js';
import { apiLatencyBench } from './api-latency.js';
import { chaosBench } from './chaos.js';
import { criPodsBench } from './cri-pods.js';
import { edgeStoreBench } from './edge-store.js';
import { embeddedApiBench } from './embedded-api.js';
import { filterBench } from './filter.js';
import { benchJson } from './json-report.js';
import { fleetBench } from './fleet.js';
import { hubFanoutBench } from './hub-fanout.js';
import { hubRssBench } from './hub-rss.js';
import { mqttFanoutBench } from './mqtt-fanout.js';
import { upstreamEventsBench } from './upstream-events.js';
import { protocolBench } from './protocol.js';
import { streamsBench } from './streams.js';
import type { BenchSection } from './section.js';

type Suite = (ms: number) => BenchSection | Promise<BenchSection>;

const SUITES: Record<string, Suite> = {
  protocol: protocolBench,
  'embedded-api': embeddedApiBench,
  'api-latency': apiLatencyBench,
  'edge-store': edgeStoreBench,
  'agent-rss': agentRssBench,
  'hub-fanout': hubFanoutBench,
  'hub-rss': hubRssBench,
  'mqtt-fanout': mqttFanoutBench,
  'upstream-events': upstreamEventsBench,
  filter: filterBench,
  fleet: fleetBench,
  chaos: chaosBench,
  'cri-pods': criPodsBench,
  streams: streamsBench,
};

const program = new Command('bench')
  .description('Run the edge-sync benchmarks and print one Markdown table per suite.')
  .addOption(new Option('--only <names>', `comma-separated suites (${Object.keys(SUITES).join(', ')})`).env('BENCH_ONLY'))
  .addOption(new Option('--ms <n>', 'measuring time per micro benchmark, ms').default('1000').env('BENCH_MS'))
  .addOption(
    new Option('--json [file]', 'also write every row as JSON (measure, value, baseline, target, verdict, met) to FILE; without FILE, JSON goes to stdout and the tables to stderr').env('BENCH_JSON'),
  )
  .action(async (options: { only?: string; ms: string; json?: string | boolean }) => {
    const names = options.only ? options.only.split(',').map((name) => name.trim()) : Object.keys(SUITES);
    for (const name of names) {
      if (!SUITES[name]) throw new Error(`unknown suite ${JSON.stringify(name)}; known: ${Object.keys(SUITES).join(', ')}`);
    }
    // `--json` alone: stdout is the JSON document, so the tables go to stderr.
    const jsonToStdout = options.json === true || options.json === '' || options.json === '-';
    const print = (text: string): void => void (jsonToStdout ? process.stderr : process.stdout).write(`${text}\n`);
    const sections: BenchSection[] = [];
    for (const name of names) {
      const section = await SUITES[name]!(Number(options.ms));
      sections.push(section);
      print(`\n## ${section.title}\n`);
      print(markdownTable(section.header, section.rows));
      for (const note of section.notes ?? []) print(`\n${note}`);
    }
    const measuredAt = new Date();
    print(`\nnode ${process.version}, ${process.arch}, measured ${measuredAt.toISOString()}`);
    if (options.json === undefined || options.json === false) return;
    const text = `${JSON.stringify(benchJson(sections, measuredAt), null, 2)}\n`;
    if (jsonToStdout) process.stdout.write(text);
    else writeFileSync(options.json as string, text);
  });

await program.parseAsync();

#!/usr/bin/env node
/**
 * `npm run bench`: every benchmark of the project, printed as Markdown tables with a baseline
 * measured in the same run. Targets are printed, never asserted.
 */
import { Command, Option } from 'commander';
import { writeFileSync } from 'node:fs';
import { markdownTable } from '../report/table.js';
import { agentRssBench } from './agent-rss.js';
import { chaosBench } from './chaos.js';
import { criPodsBench } from './cri-pods.js';
import { edgeStoreBench } from './edge-store.js';
import { embeddedApiBench } from './embedded-api.js';
import { filterBench } from './filter.js';
import { fleetBench } from './fleet.js';
import { hubFanoutBench } from './hub-fanout.js';
import { mqttFanoutBench } from './mqtt-fanout.js';
import { upstreamEventsBench } from './upstream-events.js';
import { protocolBench } from './protocol.js';
import type { BenchSection } from './section.js';

type Suite = (ms: number) => BenchSection | Promise<BenchSection>;

const SUITES: Record<string, Suite> = {
  protocol: protocolBench,
  'embedded-api': embeddedApiBench,
  'edge-store': edgeStoreBench,
  'agent-rss': agentRssBench,
  'hub-fanout': hubFanoutBench,
  'mqtt-fanout': mqttFanoutBench,
  'upstream-events': upstreamEventsBench,
  filter: filterBench,
  fleet: fleetBench,
  chaos: chaosBench,
  'cri-pods': criPodsBench,
};

const program = new Command('bench')
  .description('Run the edge-sync benchmarks and print one Markdown table per suite.')
  .addOption(new Option('--only <names>', `comma-separated suites (${Object.keys(SUITES).join(', ')})`).env('BENCH_ONLY'))
  .addOption(new Option('--ms <n>', 'measuring time per micro benchmark, ms').default('1000').env('BENCH_MS'))
  .addOption(new Option('--json <file>', 'also write the tables as JSON').env('BENCH_JSON'))
  .action(async (options: { only?: string; ms: string; json?: string }) => {
    const names = options.only ? options.only.split(',').map((name) => name.trim()) : Object.keys(SUITES);
    const sections: BenchSection[] = [];
    for (const name of names) {
      const suite = SUITES[name];
      if (!suite) throw new Error(`unknown suite ${JSON.stringify(name)}; known: ${Object.keys(SUITES).join(', ')}`);
      const section = await suite(Number(options.ms));
      sections.push(section);
      console.log(`\n## ${section.title}\n`);
      console.log(markdownTable(section.header, section.rows));
      for (const note of section.notes ?? []) console.log(`\n${note}`);
    }
    console.log(`\nnode ${process.version}, ${process.arch}, measured ${new Date().toISOString()}`);
    if (options.json) writeFileSync(options.json, `${JSON.stringify(sections, null, 2)}\n`);
  });

await program.parseAsync();

/** The scenarios by name. */
import type { ScenarioName } from './options.js';
import { chaos } from './chaos.js';
import type { Scenario } from './context.js';
import { fanout } from './fanout.js';
import { flap } from './flap.js';
import { partition } from './partition.js';
import { steady } from './steady.js';
import { storm } from './storm.js';

export const SCENARIO_RUNNERS: Record<ScenarioName, Scenario> = { steady, fanout, storm, partition, flap, chaos };

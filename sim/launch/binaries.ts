/** Paths of the built binaries, found relative to this file (dist/sim/launch -> dist/). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/ when running built code; the source tree when running under vitest (then dist/ is a sibling). */
const dist = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../..') : path.resolve(here, '../../dist');

export const BINARIES = {
  cloudHub: path.join(dist, 'cloud-hub/main.js'),
  edgeAgent: path.join(dist, 'edge-agent/main.js'),
  edgeSim: path.join(dist, 'sim/main.js'),
  /** The hub as the cloud-hub image runs it: one bundled script (npm run build:hub, scripts/hub-bundle/). */
  cloudHubBundle: path.resolve(dist, '../dist-hub/cloud-hub.js'),
  dist,
} as const;

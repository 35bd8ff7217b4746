/**
 * The architecture rules of ARCHITECTURE.md, checked on every .ts file under protocol/,
 * cloud-hub/, edge-agent/ and sim/: who may import whom, no import cycles, no file over 400
 * lines. A failure lists every offending file and import with the rule it breaks.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkArchitecture, importsOf, readSources, type Rules } from './helpers/architecture.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Top to bottom; see ARCHITECTURE.md for what each folder does and why it sits where it does. */
const LAYERS: Rules['layers'] = {
  // The Kubernetes wire pieces build on the contract's JSON helpers, never the other way.
  protocol: [['kube'], ['.']],
  'cloud-hub': [
    ['.'], // main.ts, hub.ts (assembly), cli-options.ts
    ['upstream'], // what nodes report -> the API (reads the fleet view, implements session's UpstreamSink)
    ['fleet'], // FleetView: watch cache + node scope (implements session's DesiredState)
    ['session'], // one node's sync: hello, resync, steady stream
    ['transport'], // bytes in, bytes out: WebSocket server, MQTT bridge, embedded broker
    ['auth', 'replicas', 'source', 'apiserver'], // tokens; shard Leases; informers; the embedded API server
    ['kube', 'observability', 'tls', 'streams'], // client and paths; metrics and health; the PKI; stream tunnels and the kubelet endpoint
  ],
  'edge-agent': [
    ['.'], // main.ts, agent.ts (assembly), config-file.ts, http-endpoints.ts, metrics.ts, node-info.ts, version.ts
    ['local-api', 'link', 'filter', 'kubelet-api'], // what reads or feeds the store: local clients, the hub link, upstream events; the kubelet API over the runtimes
    ['reconcile'], // the store's desired Pods -> the runtime, its statuses -> the outbox
    ['store', 'runtime'], // the SQLite cache and outbox; the processes (neither knows the other)
  ],
  sim: [
    ['.'], // main.ts: the edge-sim command
    ['bench', 'demo'], // npm run bench, npm start: entry points of their own
    ['run'], // one edge-sim run: cluster, workload, fleet, scenarios, check, report
    ['report'], // the report's model and renderings, the live progress line
    ['scenarios'], // what happens during a run, and the run's options
    ['chaos', 'verify'], // fault injection; the convergence check against the hub's own FleetView
    ['fleet', 'cluster'], // the virtual nodes in worker threads; the simulator's own API and hub
    ['workload'], // the objects and the churn written to the API
    ['metrics'], // hub metrics, latency histograms, timelines
    ['kube', 'launch', 'random'], // keep-alive kubeconfig; child processes; the seeded random source
  ],
};

const RULES: Rules = { layers: LAYERS, maxLines: 400, sizeExemptions: {} };

describe('the repository', () => {
  const files = readSources(ROOT);

  it('reads the import graph of every source file, dynamic import() included', () => {
    expect(files.size).toBeGreaterThan(300);
    // The hub loads the embedded API server only for the commands that need it.
    const hubMain = importsOf('cloud-hub/main.ts', files.get('cloud-hub/main.ts')!);
    expect(hubMain.map((i) => i.to)).toContain('cloud-hub/apiserver/index.ts');
  });

  it('obeys the architecture rules (ARCHITECTURE.md)', () => {
    const problems = checkArchitecture(files, RULES);
    expect(problems, `${problems.length} architecture rule(s) broken:\n${problems.join('\n')}\n`).toEqual([]);
  });

  it('places every folder of every process in the layer order', () => {
    const folders = new Set([...files.keys()].filter((file) => file.split('/').length > 2).map((file) => file.split('/').slice(0, 2).join('/')));
    const placed = new Set(Object.entries(LAYERS).flatMap(([process, order]) => order.flat().map((folder) => `${process}/${folder}`)));
    const missing = [...folders].filter((folder) => !placed.has(folder));
    expect(missing, `folders missing from LAYERS in test/architecture.test.ts (and ARCHITECTURE.md): ${missing.join(', ')}`).toEqual([]);
  });
});

/** Small hand-made trees: each rule catches what it should, so a green run above means something. */
describe('the architecture check', () => {
  const layers: Rules['layers'] = {
    protocol: [['.']],
    'cloud-hub': [['.'], ['session'], ['transport']],
    'edge-agent': [['.'], ['link'], ['store']],
    sim: [['.']],
  };
  const check = (tree: Record<string, string>, rules: Partial<Rules> = {}): string[] =>
    checkArchitecture(new Map(Object.entries(tree)), { layers, maxLines: 400, sizeExemptions: {}, ...rules });

  it('accepts imports that go down the layers', () => {
    expect(
      check({
        'cloud-hub/hub.ts': "import { NodeSession } from './session/node-session.js';\n",
        'cloud-hub/session/node-session.ts': "import type { Connection } from '../transport/connection.js';\nimport { encode } from '../../protocol/codec.js';\n",
        'cloud-hub/transport/connection.ts': 'export interface Connection {}\n',
        'protocol/codec.ts': 'export const encode = 1;\n',
      }),
    ).toEqual([]);
  });

  it('names the file, the import and the rule of an upward import, also a type-only or dynamic one', () => {
    const problems = check({
      'cloud-hub/transport/ws-server.ts': "import type { NodeSession } from '../session/node-session.js';\nconst m = await import('../session/other.js');\n",
      'cloud-hub/session/node-session.ts': 'export class NodeSession {}\n',
      'cloud-hub/session/other.ts': 'export {};\n',
    });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain("cloud-hub/transport/ws-server.ts:1 imports '../session/node-session.js': cloud-hub/transport/ imports cloud-hub/session/, which is above it");
    expect(problems[1]).toContain("cloud-hub/transport/ws-server.ts:2 imports '../session/other.js'");
    expect(problems[2]).toBe('cloud-hub/ layer order, top to bottom (test/architecture.test.ts LAYERS, ARCHITECTURE.md): (root files) -> session/ -> transport/');
  });

  it('refuses protocol importing ours, the hub and the agent importing each other, product code importing sim, the agent importing client-node', () => {
    const problems = check({
      'protocol/frames.ts': "export * from '../cloud-hub/hub.js';\n",
      'cloud-hub/hub.ts': "import { Agent } from '../edge-agent/agent.js';\n",
      'edge-agent/agent.ts': "export { hub } from '../cloud-hub/hub.js';\nimport { KubeConfig } from '@kubernetes/client-node';\nimport { Fleet } from '../sim/fleet/fleet.js';\n",
      'sim/fleet/fleet.ts': 'export class Fleet {}\n',
    });
    expect(problems.join('\n')).toMatch(/protocol\/frames\.ts:1 imports '\.\.\/cloud-hub\/hub\.js': protocol\//);
    expect(problems.join('\n')).toMatch(/cloud-hub\/hub\.ts:1 .*never import each other/);
    expect(problems.join('\n')).toMatch(/edge-agent\/agent\.ts:1 .*never import each other/);
    expect(problems.join('\n')).toMatch(/edge-agent\/agent\.ts:2 .*@kubernetes\/client-node/);
    expect(problems.join('\n')).toMatch(/edge-agent\/agent\.ts:3 .*never imports sim\//);
  });

  it('reports a file import cycle with every step, and a folder cycle among siblings', () => {
    const files = check(
      {
        'edge-agent/link/a.ts': "import { b } from './b.js';\n",
        'edge-agent/link/b.ts': "import { c } from './c.js';\n",
        'edge-agent/link/c.ts': "import { a } from './a.js';\n",
      },
    );
    expect(files).toEqual([
      "import cycle edge-agent/link/a.ts -> edge-agent/link/b.ts -> edge-agent/link/c.ts -> edge-agent/link/a.ts: edge-agent/link/a.ts:1 imports './b.js'; edge-agent/link/b.ts:1 imports './c.js'; edge-agent/link/c.ts:1 imports './a.js'",
    ]);
    const folders = check(
      { 'sim/x/a.ts': "import '../y/b.js';\n", 'sim/y/b.ts': 'export {};\n', 'sim/y/c.ts': "import '../x/d.js';\n", 'sim/x/d.ts': 'export {};\n' },
      { layers: { ...layers, sim: [['.'], ['x', 'y']] } },
    );
    expect(folders).toEqual(["folder cycle sim/x/ -> sim/y/ -> sim/x/: sim/x/a.ts:1 imports '../y/b.js'; sim/y/c.ts:1 imports '../x/d.js'"]);
  });

  it('asks for a place in the layers for a new folder', () => {
    const problems = check({ 'cloud-hub/hub.ts': "import './newfolder/thing.js';\n", 'cloud-hub/newfolder/thing.ts': 'export {};\n' });
    expect(problems).toEqual([expect.stringContaining('cloud-hub/newfolder/ has no place in the layer order')]);
  });

  it('counts lines against the limit, with stale exemptions reported', () => {
    const long = 'export const x = 1;\n'.repeat(401);
    expect(check({ 'sim/big.ts': long })).toEqual([expect.stringContaining('sim/big.ts: 401 lines, over the limit of 400')]);
    expect(check({ 'sim/big.ts': long }, { sizeExemptions: { 'sim/big.ts': 'generated table' } })).toEqual([]);
    expect(check({ 'sim/ok.ts': 'export const x = 1;\n'.repeat(400) }, { sizeExemptions: { 'sim/gone.ts': 'was big' } })).toEqual([
      expect.stringContaining('sim/gone.ts: exempt from the size limit but no longer exists'),
    ]);
  });
});

/**
 * `edge-agent` loads prom-client (and its metrics) only with `--metrics`, and the local API only
 * with `--local-api`: most devices run without either, and both cost memory. Each agent runs
 * the real binary under the module probe (test/helpers/module-probe.mjs), against a hub address
 * nobody listens on (the agent is ready from its cache without a hub).
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { moduleProbe } from '../helpers/module-probe.js';
import { BIN, startProcess, type RunningProcess } from '../helpers/process.js';
import { makeTempDir } from '../helpers/tmp.js';

const PROM_CLIENT = /\/node_modules\/prom-client\//;
const METRICS = /\/dist\/edge-agent\/metrics\.js$/;
const LOCAL_API = /\/dist\/edge-agent\/local-api\/local-api-server\.js$/;

const dir = makeTempDir('edge-agent-lazy-');
const running: RunningProcess[] = [];

afterAll(async () => {
  for (const agent of running) await agent.stop();
  dir.remove();
});

async function agentModules(name: string, extra: string[]): Promise<{ modules: string[]; ready: Record<string, unknown> }> {
  const probe = moduleProbe(path.join(dir.path, `${name}.modules`));
  // Port 1 on loopback: nothing listens, the agent keeps retrying in the background.
  const agent = await startProcess(BIN.edgeAgent, ['--node', 'edge-lazy', '--hub', 'ws://127.0.0.1:1', '--data', path.join(dir.path, name), '--sandbox', 'never', ...extra], {
    nodeArgs: probe.nodeArgs,
    env: probe.env,
  });
  running.push(agent);
  const ready = agent.logs.find((line) => line.msg === 'ready')!;
  return { modules: probe.loaded(), ready };
}

describe('edge-agent lazy loading', () => {
  it('without --metrics and --local-api loads neither prom-client nor the local API', async () => {
    const { modules } = await agentModules('plain', []);
    // The probe saw the agent's own modules: the list is real.
    expect(modules.some((url) => url.endsWith('/dist/edge-agent/agent.js'))).toBe(true);
    expect(modules.filter((url) => PROM_CLIENT.test(url) || METRICS.test(url))).toEqual([]);
    expect(modules.filter((url) => LOCAL_API.test(url))).toEqual([]);
  });

  it('with --metrics and --local-api loads and serves both', async () => {
    const { modules, ready } = await agentModules('full', ['--metrics', '127.0.0.1:0', '--local-api', '127.0.0.1:0']);
    expect(modules.some((url) => PROM_CLIENT.test(url))).toBe(true);
    expect(modules.some((url) => LOCAL_API.test(url))).toBe(true);
    const metrics = await fetch(`${ready.metrics as string}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('edge_agent_cached_objects');
    const api = await fetch(`${ready.localApi as string}/api/v1/namespaces/default/configmaps`);
    expect(api.status).toBe(200);
  });
});

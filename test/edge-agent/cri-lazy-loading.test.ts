/**
 * gRPC and the CRI definitions are loaded only by an agent started with
 * --container-runtime-endpoint: the process-runtime agent does not pay for them. Each agent runs
 * the real binary under the module probe (test/helpers/module-probe.mjs).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleProbe } from '../helpers/module-probe.js';
import { BIN, run, startProcess } from '../helpers/process.js';
import { makeTempDir } from '../helpers/tmp.js';

const GRPC = /\/node_modules\/(@grpc\/|protobufjs\/)/;

let dir: ReturnType<typeof makeTempDir>;

beforeAll(() => {
  dir = makeTempDir('edge-cri-lazy-');
});

afterAll(() => {
  for (const secrets of secretsDirs) rmSync(secrets, { recursive: true, force: true });
  dir?.remove();
});

const secretsDirs: string[] = [];

/** Common flags: a hub that is not there (the agent starts offline), its own data and secrets directories. */
function agentArgs(name: string): string[] {
  const secrets = path.join('/dev/shm', `${path.basename(dir.path)}-${name}`);
  secretsDirs.push(secrets);
  return ['--node', name, '--hub', 'ws://127.0.0.1:1', '--data', path.join(dir.path, name), '--secrets-dir', secrets, '--sandbox', 'never'];
}

describe('the agent loads gRPC only for a container runtime', () => {
  it('without --container-runtime-endpoint it loads no gRPC module', async () => {
    const probe = moduleProbe(path.join(dir.path, 'plain.modules'));
    const agent = await startProcess(BIN.edgeAgent, agentArgs('plain'), { nodeArgs: probe.nodeArgs, env: probe.env, ready: (line) => line.msg === 'ready' });
    const modules = probe.loaded();
    await agent.stop();
    expect(modules.some((url) => url.endsWith('/dist/edge-agent/runtime/process-runtime.js'))).toBe(true);
    expect(modules.filter((url) => GRPC.test(url))).toEqual([]);
  });

  it('with one that does not answer it loads gRPC, says so, and exits', async () => {
    const socket = path.join(dir.path, 'absent.sock');
    const result = await run(process.execPath, [BIN.edgeAgent, ...agentArgs('cri'), '--container-runtime-endpoint', `unix://${socket}`], { timeoutMs: 60_000 });
    expect(result.stderr).toContain(`edge-agent: container runtime at unix://${socket} does not answer`);
    expect(result.code).toBe(1);
  });
});

/**
 * The real agent's local API serves its own Node with the status the agent knows (Ready, its
 * version as kubelet version, nodeInfo), though the Node the hub sent carries none, and the
 * namespaces its cached objects imply.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheDigest, type CacheEntry, type SyncOp } from '../../../protocol/index.js';
import { BIN, startProcess, type RunningProcess } from '../../helpers/process.js';
import { ScriptedHub } from '../../helpers/scripted-hub.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

type Obj = Record<string, any>;
const NODE = 'edge-local-node';
let dir: ReturnType<typeof makeTempDir>;
let hub: ScriptedHub;
let agent: RunningProcess | undefined;

beforeAll(async () => {
  dir = makeTempDir('edge-local-node-');
  hub = await new ScriptedHub().start();
});

afterAll(async () => {
  await agent?.stop();
  await hub?.close();
  dir?.remove();
});

describe('the agent local API', () => {
  it("serves its own Node Ready with the agent's version, and the namespaces of cached objects", async () => {
    agent = await startProcess(BIN.edgeAgent, ['--node', NODE, '--hub', hub.url, '--data', path.join(dir.path, 'data'), '--local-api', '127.0.0.1:0', '--sandbox', 'never']);
    await hub.waitUntil(() => hub.of('hello').length > 0, 20_000, 'hello');
    hub.welcome(1_000);
    const ops: SyncOp[] = [
      { op: 'put', key: `Node//${NODE}`, rv: 'rv-node', obj: { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } } },
      { op: 'put', key: 'ConfigMap/apps/settings', rv: 'rv-cm', obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'apps' }, data: { a: 'b' } } },
    ];
    hub.send({ v: 1, t: 'sync', seq: 1, ops });
    const entries: CacheEntry[] = ops.map((op) => [op.key, (op as { rv: string }).rv]);
    hub.send({ v: 1, t: 'synced', seq: 1, digest: cacheDigest(entries), n: entries.length });
    const local = agent.logs.find((line) => line.msg === 'ready')!.localApi as string;
    const version = hub.of('hello')[0]!.agent;

    const node = await waitFor(
      async () => {
        const res = await fetch(`${local}/api/v1/nodes/${NODE}`);
        return res.status === 200 ? ((await res.json()) as Obj) : undefined;
      },
      { timeoutMs: 20_000, what: 'the Node in the local API' },
    );
    const ready = (node.status.conditions as Obj[]).find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    expect(node.status.nodeInfo.kubeletVersion).toBe(`edge-sync/${version}`);
    expect(node.status.nodeInfo.architecture).toBeTruthy();
    expect(node.status.capacity.cpu).toBeTruthy();

    const namespaces = (await (await fetch(`${local}/api/v1/namespaces`)).json()) as Obj;
    expect(namespaces.items.map((ns: Obj) => ns.metadata.name)).toEqual(['apps', 'default']);
    const missing = await fetch(`${local}/api/v1/namespaces/elsewhere`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as Obj).message).toBe('namespaces "elsewhere" not found');
  });
});

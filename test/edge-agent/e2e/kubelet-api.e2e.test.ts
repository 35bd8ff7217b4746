/**
 * The real agent binary with `--kubelet-api-address`, its Pods from a real hub and embedded API:
 * the kubelet API serves the logs of and exec into the Pods bound to it and nothing else, and
 * with the hub gone the real kubectl reads a Pod's logs from the agent's local API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, type AgentHandle } from '../../helpers/cluster.js';
import { requireTool, runTool } from '../../helpers/system-tools.js';
import { waitFor } from '../../helpers/wait.js';
import { channelExec, get } from '../kubelet-api/helpers.js';

type Obj = Record<string, any>;
const KUBECTL = requireTool(process.env.KUBECTL ?? 'kubectl', 'kubectl');
const NODE = 'edge-kubelet-api';
const NS = 'default';
let cluster: TestCluster;
let agent: AgentHandle;
let kubeletApi: string;

beforeAll(async () => {
  cluster = await new TestCluster().start();
  await cluster.tokenFile(NODE);
  agent = await cluster.startAgent(NODE, { args: ['--kubelet-api-address', '127.0.0.1:0', '--sandbox', 'never'] });
  kubeletApi = agent.proc.logs.find((line) => line.msg === 'ready')!.kubeletApi as string;
});

afterAll(async () => {
  await cluster?.close();
});

function pod(name: string, node: string, script: string): Obj {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { nodeName: node, containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', script] }] } };
}

describe('the agent\'s kubelet API', () => {
  it('serves logs of and exec into its own Pods; another node\'s Pod is 404', async () => {
    expect(kubeletApi).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await cluster.client.create(`/api/v1/namespaces/${NS}/pods`, pod('talker', NODE, 'echo hello from the edge; exec sleep 600'));
    await cluster.client.create(`/api/v1/namespaces/${NS}/pods`, pod('stranger', 'some-other-node', 'exec sleep 600'));
    const logs = await waitFor(async () => {
      const answer = await get(`${kubeletApi}/containerLogs/${NS}/talker/main`);
      return answer.status === 200 && answer.body.includes('hello') ? answer.body : undefined;
    }, { timeoutMs: 30_000, what: 'the Pod\'s log on the kubelet API' });
    expect(logs).toBe('hello from the edge\n');
    const exec = await channelExec(`${kubeletApi}/exec/${NS}/talker/main?command=sh&command=-c&command=echo%20$HOSTNAME&output=1`, 'v5.channel.k8s.io');
    expect(exec.stdout).toBe('talker\n');
    expect(exec.status).toEqual({ metadata: {}, status: 'Success' });
    expect(await get(`${kubeletApi}/containerLogs/${NS}/stranger/main`)).toEqual({ status: 404, body: 'pod "stranger" does not exist\n' });
    const list = JSON.parse((await get(`${kubeletApi}/pods`)).body) as Obj;
    expect(list.items.map((item: Obj) => item.metadata.name)).toEqual(['talker']);
    expect(list.items[0].status.phase).toBe('Running');
  });

  it('with the hub gone, kubectl logs against the agent\'s local API reads the Pod\'s log on the device', async () => {
    await cluster.stopHub();
    const result = await runTool(KUBECTL, ['--server', agent.localApi, '-n', NS, 'logs', 'talker', '--tail=1']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('hello from the edge\n');
    const missing = await runTool(KUBECTL, ['--server', agent.localApi, '-n', NS, 'logs', 'talker', '-c', 'nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('container nope is not valid for pod talker');
  });
});

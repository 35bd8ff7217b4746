/**
 * The hub decides what a node may say about itself, as NodeRestriction does for kubelets:
 * forbidden labels, another node's hostname, bogus addresses and capacity are dropped (with a
 * warning log and a Warning Event on the Node), and the rest of the node registers. Checked
 * with the real kubectl against the embedded API.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeInfo } from '../../protocol/index.js';
import { startHub, type HubHandle } from '../helpers/hub.js';
import { run } from '../helpers/process.js';
import { TestNode } from '../helpers/protocol-client.js';
import { waitFor } from '../helpers/wait.js';

let hub: HubHandle;
const clients: TestNode[] = [];

beforeAll(async () => {
  if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error) {
    throw new Error('this suite needs kubectl 1.32: apt-get install -y kubectl (from https://pkgs.k8s.io/core:/stable:/v1.32/deb/)');
  }
  hub = await startHub();
});

afterAll(async () => {
  for (const client of clients) client.close();
  await hub?.stop();
});

async function kubectlJson<T>(...args: string[]): Promise<T> {
  const result = await run('kubectl', ['--kubeconfig', hub.kubeconfig, '--cache-dir', path.join(hub.data, 'kubectl-cache'), ...args, '-o', 'json'], { timeoutMs: 20_000 });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

interface NodeJson {
  metadata: { labels: Record<string, string> };
  spec?: { taints?: { key: string; value?: string; effect: string }[] };
  status: { addresses: { type: string; address: string }[]; capacity: Record<string, string>; allocatable: Record<string, string>; conditions: { type: string; status: string }[] };
}

interface EventJson {
  reason: string;
  type: string;
  message: string;
  involvedObject: { kind: string; name: string };
}

async function register(node: string, info: NodeInfo): Promise<NodeJson> {
  const client = await TestNode.connect(hub.ws, node, { token: await hub.tokens.create(node) });
  clients.push(client);
  client.send({ v: 1, t: 'hello', node, agent: 'test', caps: [], info, digest: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU', have: [] });
  await client.waitForFrame((f) => f.t === 'synced');
  return waitFor(
    async () => {
      const object = await kubectlJson<NodeJson>('get', 'node', node);
      return object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? object : undefined;
    },
    { what: `${node} registered and Ready` },
  );
}

async function nodeEvents(node: string): Promise<EventJson[]> {
  const list = await kubectlJson<{ items: EventJson[] }>('get', 'events', '-n', 'default', '--field-selector', `involvedObject.kind=Node,involvedObject.name=${node}`);
  return list.items;
}

describe('node self-registration', () => {
  it('drops forbidden labels, another node\'s hostname, bad addresses and capacity, and registers the rest', async () => {
    const node = await register('edge-sly', {
      arch: 'arm64',
      os: 'linux',
      hostname: 'EDGE-Sly.local',
      capacity: { cpu: '4', memory: '8Gi', pods: '110', 'example.com/gpu': '1', 'ephemeral-storage': '-5Gi', 'bad name!': '1', huge: '1e30', lots: 'many', 'requests.cpu': '1' },
      allocatable: { cpu: '6', memory: '7Gi', 'unknown.io/thing': '1' },
      labels: {
        'node-role.kubernetes.io/control-plane': '',
        'node-role.kubernetes.io/master': '',
        'node-restriction.kubernetes.io/pci-dss': 'true',
        'kubernetes.io/hostname': 'edge-victim',
        'foo.kubernetes.io/steer': 'yes',
        'k8s.io/x': 'y',
        'sub.k8s.io/x': 'y',
        'bad key': 'v',
        'example.com/too-long': 'v'.repeat(64),
        'topology.kubernetes.io/zone': 'zone-a',
        'topology.kubernetes.io/region': 'eu-1',
        'node.kubernetes.io/instance-type': 'small',
        'kubelet.kubernetes.io/custom': 'ok',
        'beta.kubernetes.io/arch': 'arm64',
        'example.com/site': 'factory-7',
      },
      addresses: [
        { type: 'InternalIP', address: '10.1.2.3' },
        { type: 'ExternalIP', address: '2001:db8::7' },
        { type: 'Hostname', address: 'EDGE-Sly.local' },
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'InternalIP', address: '169.254.169.254' },
        { type: 'ExternalIP', address: '0.0.0.0' },
        { type: 'ExternalIP', address: '::1' },
        { type: 'InternalIP', address: '::ffff:127.0.0.1' },
        { type: 'InternalIP', address: 'not-an-ip' },
        { type: 'InternalDNS', address: 'under_score.example' },
        { type: 'Bogus', address: '10.9.9.9' },
      ],
    });
    expect(node.metadata.labels).toEqual({
      'kubernetes.io/hostname': 'edge-sly',
      'kubernetes.io/arch': 'arm64',
      'kubernetes.io/os': 'linux',
      'node-role.kubernetes.io/edge': '',
      'topology.kubernetes.io/zone': 'zone-a',
      'topology.kubernetes.io/region': 'eu-1',
      'node.kubernetes.io/instance-type': 'small',
      'kubelet.kubernetes.io/custom': 'ok',
      'beta.kubernetes.io/arch': 'arm64',
      'example.com/site': 'factory-7',
    });
    expect(node.status.addresses).toEqual([
      { type: 'InternalIP', address: '10.1.2.3' },
      { type: 'ExternalIP', address: '2001:db8::7' },
      { type: 'Hostname', address: 'edge-sly.local' },
    ]);
    expect(node.status.capacity).toEqual({ cpu: '4', memory: '8Gi', pods: '110', 'example.com/gpu': '1' });
    expect(node.status.allocatable).toEqual({ cpu: '4', memory: '7Gi' });

    const warning = await waitFor(async () => (await nodeEvents('edge-sly')).find((e) => e.reason === 'NodeInfoRefused'), { what: 'the Warning Event on the Node' });
    expect(warning.type).toBe('Warning');
    for (const dropped of ['node-role.kubernetes.io/control-plane', 'node-restriction.kubernetes.io/pci-dss', 'kubernetes.io/hostname', 'foo.kubernetes.io/steer', '127.0.0.1', '169.254.169.254', 'huge', 'allocatable cpu']) {
      expect(warning.message).toContain(dropped);
    }
    const logged = hub.proc.logs.find((line) => line.msg === 'dropped what the node may not say about itself' && line.node === 'edge-sly');
    expect(logged?.dropped).toEqual(expect.arrayContaining([expect.stringContaining('node-role.kubernetes.io/master')]));
  });

  it('registers a node that says only what it may without a warning, with its hostname label its own name', async () => {
    const node = await register('edge-honest', {
      arch: 'amd64',
      os: 'linux',
      hostname: 'edge-honest',
      capacity: { cpu: '2', memory: '2Gi', pods: '110' },
      labels: { 'kubernetes.io/hostname': 'edge-honest', 'edge-sync.io/site': 'lab' },
      addresses: [{ type: 'InternalIP', address: '192.168.7.2' }],
    });
    expect(node.metadata.labels).toMatchObject({ 'kubernetes.io/hostname': 'edge-honest', 'edge-sync.io/site': 'lab', 'node-role.kubernetes.io/edge': '' });
    expect(node.status.allocatable).toEqual(node.status.capacity);
    expect(await nodeEvents('edge-honest')).toEqual([]);
  });

  it('registers a node with the valid taints it asked for (--register-with-taints), dropping the rest', async () => {
    const node = await register('edge-tainted', {
      arch: 'arm64',
      os: 'linux',
      capacity: { cpu: '4', memory: '4Gi', pods: '110' },
      labels: {},
      taints: [
        { key: 'node-role.kubernetes.io/edge', effect: 'NoSchedule' },
        { key: 'dedicated', value: 'cameras', effect: 'NoExecute' },
        { key: 'bad key', effect: 'NoSchedule' },
        { key: 'sometimes', effect: 'Sometimes' },
        { key: 'dedicated', value: 'other', effect: 'NoExecute' },
      ],
    });
    expect(node.spec?.taints).toEqual([
      { key: 'node-role.kubernetes.io/edge', effect: 'NoSchedule' },
      { key: 'dedicated', value: 'cameras', effect: 'NoExecute' },
    ]);
    const [refused] = await waitFor(async () => {
      const events = await nodeEvents('edge-tainted');
      return events.length > 0 ? events : undefined;
    }, { what: 'the NodeInfoRefused Event' });
    expect(refused).toMatchObject({ reason: 'NodeInfoRefused', type: 'Warning' });
    expect(refused!.message).toContain('taint bad key=:NoSchedule');
    expect(refused!.message).toContain('taint sometimes=:Sometimes: effect must be NoSchedule, PreferNoSchedule or NoExecute');
    expect(refused!.message).toContain('taint dedicated=other:NoExecute: the same key and effect twice');
  });
});

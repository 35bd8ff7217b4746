/** Pure parts: table rows as kube prints them, strategic merge, selector parsing, listen addresses. */
import { describe, expect, it } from 'vitest';
import { parseListenAddress } from '../../../cloud-hub/apiserver/command.js';
import { decodeKubeProtobuf } from '../../../cloud-hub/apiserver/protobuf.js';
import { strategicMerge } from '../../../cloud-hub/apiserver/patch.js';
import type { JsonObject } from '../../../protocol/index.js';
import { ApiError, humanDuration, nodeRow, parseFieldSelector, parseLabelSelector, podRow } from '../../../protocol/kube/index.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const CREATED = '2026-01-01T11:00:00Z';

function podWith(status: JsonObject, extra: { deletionTimestamp?: string; containers?: number } = {}): JsonObject {
  const containers = Array.from({ length: extra.containers ?? 1 }, (_, i) => ({ name: `c${i}`, image: 'x' }));
  const metadata: JsonObject = { name: 'p', creationTimestamp: CREATED };
  if (extra.deletionTimestamp) metadata.deletionTimestamp = extra.deletionTimestamp;
  return { metadata, spec: { nodeName: 'edge-1', containers }, status };
}

describe('pod rows (kube printPod)', () => {
  it('Running and ready', () => {
    const row = podRow(podWith({ phase: 'Running', podIP: '10.1.0.5', containerStatuses: [{ name: 'c0', ready: true, restartCount: 0, state: { running: { startedAt: CREATED } } }] }), NOW);
    expect(row).toEqual(['p', '1/1', 'Running', '0', '60m', '10.1.0.5', 'edge-1', '<none>', '<none>']);
  });

  it('CrashLoopBackOff with restarts and when the last one was', () => {
    const row = podRow(
      podWith({
        phase: 'Running',
        containerStatuses: [
          { name: 'c0', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: '2026-01-01T11:58:00Z' } } },
        ],
      }),
      NOW,
    );
    expect(row.slice(1, 4)).toEqual(['0/1', 'CrashLoopBackOff', '4 (2m ago)']);
  });

  it('Completed and Error from terminated containers, restarts summed over containers', () => {
    const completed = podRow(podWith({ phase: 'Succeeded', containerStatuses: [{ name: 'c0', restartCount: 1, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }), NOW);
    expect(completed.slice(1, 4)).toEqual(['0/1', 'Completed', '1']);
    const failed = podRow(
      podWith(
        {
          phase: 'Failed',
          containerStatuses: [
            { name: 'c0', restartCount: 2, state: { terminated: { exitCode: 2, reason: 'Error' } } },
            { name: 'c1', restartCount: 3, state: { terminated: { exitCode: 137 } } },
          ],
        },
        { containers: 2 },
      ),
      NOW,
    );
    expect(failed.slice(1, 4)).toEqual(['0/2', 'Error', '5']);
  });

  it('Terminating while deletionTimestamp is set and the phase is not terminal; Pending/ContainerCreating', () => {
    const terminating = podRow(podWith({ phase: 'Running', containerStatuses: [{ name: 'c0', ready: true, state: { running: {} } }] }, { deletionTimestamp: '2026-01-01T12:00:30Z' }), NOW);
    expect(terminating[2]).toBe('Terminating');
    expect(podRow(podWith({ phase: 'Pending' }), NOW)[2]).toBe('Pending');
    expect(podRow(podWith({ phase: 'Pending', containerStatuses: [{ name: 'c0', state: { waiting: { reason: 'ContainerCreating' } } }] }), NOW)[2]).toBe('ContainerCreating');
  });

  it('init containers: Init:N/M, Init:Error', () => {
    const pod = podWith({ phase: 'Pending', initContainerStatuses: [{ name: 'i0', state: { running: {} } }] });
    (pod.spec as JsonObject).initContainers = [{ name: 'i0', image: 'x' }];
    expect(podRow(pod, NOW)[2]).toBe('Init:0/1');
    (pod.status as JsonObject).initContainerStatuses = [{ name: 'i0', state: { terminated: { exitCode: 1, reason: 'Error' } } }];
    expect(podRow(pod, NOW)[2]).toBe('Init:Error');
  });
});

describe('node rows (kube printNode)', () => {
  const node = (ready: string | undefined, labels: Record<string, string> = {}): JsonObject => ({
    metadata: { name: 'edge-1', creationTimestamp: CREATED, labels },
    status: {
      conditions: ready === undefined ? [] : [{ type: 'Ready', status: ready }],
      addresses: [{ type: 'InternalIP', address: '192.0.2.10' }],
      nodeInfo: { kubeletVersion: 'edge-sync/0.1.0', osImage: 'Debian GNU/Linux 12', kernelVersion: '6.1.0', containerRuntimeVersion: 'process://1' },
    },
  });

  it('Ready / NotReady from the Ready condition, roles from node-role labels, wide columns', () => {
    expect(nodeRow(node('True', { 'node-role.kubernetes.io/edge': '', 'node-role.kubernetes.io/gateway': '' }), NOW)).toEqual([
      'edge-1',
      'Ready',
      'edge,gateway',
      '60m',
      'edge-sync/0.1.0',
      '192.0.2.10',
      '<none>',
      'Debian GNU/Linux 12',
      '6.1.0',
      'process://1',
    ]);
    expect(nodeRow(node('False'), NOW).slice(1, 3)).toEqual(['NotReady', '<none>']);
    expect(nodeRow(node('Unknown'), NOW)[1]).toBe('NotReady');
    expect(nodeRow(node(undefined), NOW)[1]).toBe('Unknown');
  });
});

describe('human durations (kube duration.HumanDuration)', () => {
  it.each([
    [5_000, '5s'],
    [119_000, '119s'],
    [200_000, '3m20s'],
    [3_600_000, '60m'],
    [4 * 3_600_000 + 60_000, '4h1m'],
    [30 * 3_600_000, '30h'],
    [3 * 86_400_000, '3d'],
    [40 * 86_400_000, '40d'],
    [800 * 86_400_000, '2y70d'],
  ])('%d ms is %s', (ms, text) => expect(humanDuration(ms)).toBe(text));
});

describe('strategic merge patch', () => {
  const original: JsonObject = {
    metadata: { finalizers: ['a/x'] },
    spec: {
      containers: [
        { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }], ports: [{ containerPort: 80 }] },
        { name: 'b', image: 'b:1' },
      ],
      tolerations: [{ key: 'k1' }],
    },
  };

  it('merges named lists element by element and replaces other lists', () => {
    const result = strategicMerge(original, {
      metadata: { finalizers: ['b/y'] },
      spec: {
        containers: [{ name: 'a', env: [{ name: 'Y', value: '2' }], ports: [{ containerPort: 80, name: 'http' }] }, { name: 'c', image: 'c:1' }],
        tolerations: [{ key: 'k2' }],
      },
    }) as { metadata: JsonObject; spec: { containers: JsonObject[]; tolerations: JsonObject[] } };
    expect(result.metadata.finalizers).toEqual(['a/x', 'b/y']);
    expect(result.spec.containers.map((c) => c.name)).toEqual(['a', 'b', 'c']);
    expect(result.spec.containers[0]!.env).toEqual([{ name: 'X', value: '1' }, { name: 'Y', value: '2' }]);
    expect(result.spec.containers[0]!.ports).toEqual([{ containerPort: 80, name: 'http' }]);
    expect(result.spec.tolerations).toEqual([{ key: 'k2' }]);
    expect((original.spec as { containers: unknown[] }).containers).toHaveLength(2);
  });

  it('honours $patch delete/replace, $deleteFromPrimitiveList and $setElementOrder', () => {
    const result = strategicMerge(original, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['a/x'] },
      spec: {
        $setElementOrder_unused: 1,
        '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
        containers: [{ name: 'a', $patch: 'delete' }],
      },
    }) as { metadata: JsonObject; spec: { containers: JsonObject[] } };
    expect(result.metadata.finalizers).toEqual([]);
    expect(result.spec.containers.map((c) => c.name)).toEqual(['b']);
    const replaced = strategicMerge(original, { spec: { $patch: 'replace', containers: [{ name: 'z', image: 'z' }] } }) as { spec: JsonObject };
    expect(replaced.spec).toEqual({ containers: [{ name: 'z', image: 'z' }] });
  });
});

describe('Kubernetes protobuf bodies', () => {
  // What `kubectl create configmap cm1 -n default --from-literal=a=b --from-literal=c=d` sent.
  const configMap = Buffer.from(
    '6b3873000a0f0a0276311209436f6e6669674d6170122c0a1a0a03636d3112001a0764656661756c7422002a0032003800420012060a016112016212060a01631201641a002200',
    'hex',
  );

  it('decodes a ConfigMap with its metadata, leaving out empty proto defaults', () => {
    expect(decodeKubeProtobuf(configMap)).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm1', namespace: 'default' }, data: { a: 'b', c: 'd' } });
  });

  it('refuses kinds it has no schema for and malformed bodies (400)', () => {
    const service = Buffer.concat([Buffer.from('6b387300', 'hex'), Buffer.from([0x0a, 0x0d, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x07, 0x53, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65])]);
    expect(() => decodeKubeProtobuf(service)).toThrow(expect.objectContaining({ code: 400, message: 'no kind "Service" is registered for version "v1" in the protobuf bodies this server reads' }) as ApiError);
    expect(() => decodeKubeProtobuf(configMap.subarray(0, 30))).toThrow(expect.objectContaining({ code: 400 }) as ApiError);
    expect(() => decodeKubeProtobuf(Buffer.from('{}'))).toThrow(expect.objectContaining({ code: 400 }) as ApiError);
  });
});

describe('selectors and listen addresses', () => {
  it('parses label selectors into requirements with kube semantics', () => {
    const selector = parseLabelSelector('a=b, c notin (x,y), !d, e');
    expect(selector.matches({ a: 'b', e: '' })).toBe(true);
    expect(selector.matches({ a: 'b', e: '', c: 'x' })).toBe(false);
    expect(selector.matches({ a: 'b', e: '', d: '1' })).toBe(false);
    expect(parseLabelSelector('n>3').matches({ n: '4' })).toBe(true);
    expect(() => parseLabelSelector('a=b=c')).toThrow(/unable to parse requirement/);
  });

  it('parses field selectors with escapes', () => {
    expect(parseFieldSelector('metadata.name=a\\,b,spec.nodeName!=x', 'Pod').requirements).toEqual([
      { field: 'metadata.name', equal: true, value: 'a,b' },
      { field: 'spec.nodeName', equal: false, value: 'x' },
    ]);
  });

  it('parses HOST:PORT, [v6]:PORT and :PORT', () => {
    expect(parseListenAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListenAddress('[::1]:6443')).toEqual({ host: '::1', port: 6443 });
    expect(parseListenAddress(':8443')).toEqual({ host: '0.0.0.0', port: 8443 });
    expect(() => parseListenAddress('nope')).toThrow(/HOST:PORT/);
  });
});

/**
 * Kubernetes protobuf bodies of every kind the server reads, encoded here field by field with
 * the upstream field numbers (k8s.io/api generated.proto), decoded to kube's JSON form.
 */
import { describe, expect, it } from 'vitest';
import { decodeKubeProtobuf } from '../../../cloud-hub/apiserver/protobuf.js';
import { KUBE_PROTOBUF_SCHEMA } from '../../../cloud-hub/apiserver/protobuf-schema.js';
import type { ApiError } from '../../../protocol/kube/index.js';

function varint(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return Buffer.from(out);
}

/** A length-delimited field (string, bytes, message). */
const ld = (n: number, value: Buffer | string): Buffer => {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([varint((n << 3) | 2), varint(bytes.length), bytes]);
};
/** A varint field (int, bool). */
const vi = (n: number, value: number | bigint | boolean): Buffer => Buffer.concat([varint(n << 3), varint(typeof value === 'boolean' ? Number(value) : value)]);
const msg = (...fields: Buffer[]): Buffer => Buffer.concat(fields);
const entry = (n: number, key: string, value: Buffer | string): Buffer => ld(n, msg(ld(1, key), ld(2, value)));

function body(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([Buffer.from('k8s\0'), ld(1, msg(ld(1, apiVersion), ld(2, kind))), ld(2, raw)]);
}

const meta = (name: string, namespace = ''): Buffer => msg(ld(1, name), ld(2, ''), ...(namespace ? [ld(3, namespace)] : []), vi(7, 0), ld(8, msg()));

describe('Kubernetes protobuf bodies', () => {
  it('the schema is generated for every kind the server reads', () => {
    for (const kind of ['v1.Pod', 'v1.Node', 'v1.Event', 'v1.Binding', 'coordination.k8s.io/v1.Lease', 'policy/v1.Eviction', 'meta/v1.DeleteOptions', 'authorization.k8s.io/v1.SelfSubjectAccessReview']) {
      expect(KUBE_PROTOBUF_SCHEMA[kind], kind).toBeDefined();
    }
    // A spot check against k8s.io/api/core/v1/generated.proto.
    expect(KUBE_PROTOBUF_SCHEMA['v1.Container']).toContain('image=2s');
    expect(KUBE_PROTOBUF_SCHEMA['v1.PodSpec']).toContain('nodeName=10s');
  });

  it('a Pod as kubectl debug node/X sends it: containers, host namespaces, inline volume sources, tolerations, quantities', () => {
    const container = msg(
      ld(1, 'debugger'),
      ld(2, 'busybox:1.36'),
      ld(3, 'sh'),
      ld(3, '-c'),
      ld(8, msg(entry(1, 'cpu', msg(ld(1, '100m'))), entry(2, 'memory', msg(ld(1, '64Mi'))))),
      ld(9, msg(ld(1, 'host-root'), vi(2, false), ld(3, '/host'))),
      ld(6, msg(ld(1, 'http'), vi(3, 8080), ld(4, 'TCP'))),
      ld(15, msg(vi(2, true), vi(4, -1))),
      vi(16, true),
      vi(18, true),
    );
    const volume = msg(ld(1, 'host-root'), ld(2, msg(ld(1, msg(ld(1, '/'), ld(2, ''))))));
    const probe = msg(ld(1, msg(ld(3, msg(ld(1, msg(vi(1, 0), vi(2, 9000))))))), vi(3, 2));
    const spec = msg(ld(1, volume), ld(2, msg(container, ld(11, probe))), ld(3, 'Never'), vi(4, 0), ld(10, 'edge-1'), vi(11, true), vi(12, true), vi(13, true), ld(22, msg(ld(2, 'Exists'))));
    const metadata = msg(ld(1, 'node-debugger-edge-1'), ld(3, 'default'), entry(11, 'app', ''), ld(8, msg(vi(1, 0))));
    const pod = decodeKubeProtobuf(body('v1', 'Pod', msg(ld(1, metadata), ld(2, spec), ld(3, msg()))));
    expect(pod).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'node-debugger-edge-1', namespace: 'default', labels: { app: '' } },
      spec: {
        volumes: [{ name: 'host-root', hostPath: { path: '/' } }],
        containers: [
          {
            name: 'debugger',
            image: 'busybox:1.36',
            command: ['sh', '-c'],
            resources: { limits: { cpu: '100m' }, requests: { memory: '64Mi' } },
            volumeMounts: [{ name: 'host-root', mountPath: '/host' }],
            ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
            securityContext: { privileged: true, runAsUser: -1 },
            stdin: true,
            tty: true,
            readinessProbe: { tcpSocket: { port: 9000 }, timeoutSeconds: 2 },
          },
        ],
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 0,
        nodeName: 'edge-1',
        hostNetwork: true,
        hostPID: true,
        hostIPC: true,
        tolerations: [{ operator: 'Exists' }],
      },
      status: {},
    });
  });

  it('DeleteOptions (any group version) and Eviction, as kubectl delete and drain send them', () => {
    const options = msg(vi(1, 0), ld(2, msg(ld(1, 'uid-1'))), ld(4, 'Background'), ld(5, 'All'));
    expect(decodeKubeProtobuf(body('v1', 'DeleteOptions', options))).toEqual({
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
      preconditions: { uid: 'uid-1' },
      propagationPolicy: 'Background',
      dryRun: ['All'],
    });
    expect(decodeKubeProtobuf(body('policy/v1', 'Eviction', msg(ld(1, meta('p', 'default')), ld(2, msg(vi(1, 30))))))).toEqual({
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'p', namespace: 'default' },
      deleteOptions: { gracePeriodSeconds: 30 },
    });
  });

  it('Node status, Event and Lease times (Time, MicroTime), int-or-string and bytes', () => {
    const at = Date.parse('2026-01-02T03:04:05Z') / 1000;
    const node = msg(
      ld(1, meta('edge-1')),
      ld(2, msg(vi(4, true))),
      ld(3, msg(entry(1, 'cpu', msg(ld(1, '4'))), ld(4, msg(ld(1, 'Ready'), ld(2, 'True'), ld(3, msg(vi(1, at))))), ld(5, msg(ld(1, 'InternalIP'), ld(2, '10.0.0.5'))), ld(7, msg(ld(7, 'v1.32.0'))))),
    );
    expect(decodeKubeProtobuf(body('v1', 'Node', node))).toMatchObject({
      spec: { unschedulable: true },
      status: { capacity: { cpu: '4' }, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-01-02T03:04:05Z' }], addresses: [{ type: 'InternalIP', address: '10.0.0.5' }], nodeInfo: { kubeletVersion: 'v1.32.0' } },
    });
    const lease = msg(ld(1, meta('edge-1', 'kube-node-lease')), ld(2, msg(ld(1, 'edge-1'), vi(2, 40), ld(4, msg(vi(1, at), vi(2, 123_456_000))))));
    expect(decodeKubeProtobuf(body('coordination.k8s.io/v1', 'Lease', lease))).toMatchObject({
      spec: { holderIdentity: 'edge-1', leaseDurationSeconds: 40, renewTime: '2026-01-02T03:04:05.123456Z' },
    });
    const event = msg(ld(1, meta('e1', 'default')), ld(2, msg(ld(1, 'Pod'), ld(3, 'p'))), ld(3, 'Started'), vi(8, 2), ld(6, msg(vi(1, 0))));
    const decodedEvent = decodeKubeProtobuf(body('v1', 'Event', event));
    expect(decodedEvent).toMatchObject({ involvedObject: { kind: 'Pod', name: 'p' }, reason: 'Started', count: 2 });
    expect(decodedEvent).not.toHaveProperty('firstTimestamp');
    const secret = msg(ld(1, meta('s', 'default')), entry(2, 'key', Buffer.from([0, 1, 2, 255])));
    expect(decodeKubeProtobuf(body('v1', 'Secret', secret)).data).toEqual({ key: Buffer.from([0, 1, 2, 255]).toString('base64') });
  });

  it('hostile bodies are 400s, never crashes', () => {
    const truncated = body('v1', 'Pod', msg(ld(1, meta('p', 'default')))).subarray(0, 25);
    expect(() => decodeKubeProtobuf(truncated)).toThrow(expect.objectContaining({ code: 400 }) as ApiError);
    // A length that claims far more than the body holds.
    const lying = Buffer.concat([Buffer.from('k8s\0'), varint((2 << 3) | 2), varint(2 ** 40)]);
    expect(() => decodeKubeProtobuf(lying)).toThrow(expect.objectContaining({ code: 400 }) as ApiError);
    // A string where a message belongs.
    const wrongWire = body('v1', 'Pod', msg(vi(1, 5)));
    expect(() => decodeKubeProtobuf(wrongWire)).toThrow(expect.objectContaining({ code: 400 }) as ApiError);
    const encoded = body('v1', 'ConfigMap', msg(ld(1, meta('c', 'default'))));
    const compressed = Buffer.concat([encoded, ld(3, 'gzip')]);
    expect(() => decodeKubeProtobuf(compressed)).toThrow(expect.objectContaining({ code: 415 }) as ApiError);
  });
});

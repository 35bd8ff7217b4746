/** The NodeRestriction rules the hub applies to a node's hello, member by member. */
import { describe, expect, it } from 'vitest';
import { forbiddenLabelReason, parseQuantity, sanitizeNodeInfo } from '../../cloud-hub/upstream/node-self-report.js';

describe('labels a node may set on itself', () => {
  it.each([
    'kubernetes.io/hostname',
    'kubernetes.io/arch',
    'kubernetes.io/os',
    'beta.kubernetes.io/arch',
    'beta.kubernetes.io/os',
    'beta.kubernetes.io/instance-type',
    'node.kubernetes.io/instance-type',
    'node.kubernetes.io/windows-build',
    'failure-domain.beta.kubernetes.io/zone',
    'failure-domain.beta.kubernetes.io/region',
    'topology.kubernetes.io/zone',
    'topology.kubernetes.io/region',
    'kubelet.kubernetes.io/anything',
    'foo.kubelet.kubernetes.io/anything',
    'bar.node.kubernetes.io/anything',
    'example.com/site',
    'plain',
  ])('allows %s', (key) => {
    expect(forbiddenLabelReason(key)).toBeUndefined();
  });

  it.each([
    'node-role.kubernetes.io/control-plane',
    'node-role.kubernetes.io/master',
    'node-role.kubernetes.io/edge',
    'node-restriction.kubernetes.io/pci',
    'team.node-restriction.kubernetes.io/pci',
    'kubernetes.io/role',
    'topology.kubernetes.io/rack',
    'beta.kubernetes.io/fluentd-ds-ready',
    'k8s.io/anything',
    'x.k8s.io/anything',
    'example.kubernetes.io/anything',
  ])('refuses %s', (key) => {
    expect(forbiddenLabelReason(key)).toBeDefined();
  });
});

describe('Kubernetes quantities', () => {
  it.each([
    ['2', 2],
    ['500m', 0.5],
    ['2Gi', 2 * 2 ** 30],
    ['1.5k', 1500],
    ['1e3', 1000],
    ['0', 0],
    ['+4', 4],
  ])('reads %s', (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });

  it.each(['-1', '', 'Gi', '1GiB', '1 Gi', 'one', '1e', 'NaN', 'Infinity', '1'.repeat(80)])('refuses %j', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

describe('a node\'s self-report', () => {
  it('bounds labels, addresses and resources by count', () => {
    const many = (n: number, make: (i: number) => [string, string]) => Object.fromEntries(Array.from({ length: n }, (_, i) => make(i)));
    const report = sanitizeNodeInfo('edge-1', {
      arch: 'amd64',
      os: 'linux',
      capacity: many(40, (i) => [`example.com/r${i}`, '1']),
      labels: many(70, (i) => [`example.com/l${i}`, 'v']),
      addresses: Array.from({ length: 16 }, (_, i) => ({ type: 'InternalIP', address: `10.0.0.${i + 1}` })),
    });
    expect(Object.keys(report.labels).filter((key) => key.startsWith('example.com/'))).toHaveLength(64);
    expect(Object.keys(report.capacity)).toHaveLength(32);
    expect(report.addresses).toHaveLength(16);
    expect(report.dropped.filter((line) => line.includes('more than'))).toHaveLength(6 + 8);
  });

  it('falls back to the node\'s name when no address is valid, and never takes another hostname label', () => {
    const report = sanitizeNodeInfo('edge-1', { arch: 'amd64', os: 'linux', hostname: 'Not_Valid', capacity: {}, labels: { 'kubernetes.io/hostname': 'edge-2' }, addresses: [{ type: 'InternalIP', address: '127.0.0.2' }] });
    expect(report.addresses).toEqual([{ type: 'Hostname', address: 'edge-1' }]);
    expect(report.labels['kubernetes.io/hostname']).toBe('edge-1');
    expect(report.dropped).toHaveLength(2);
  });
});

/** The agent's node flags: --register-with-taints, --system-reserved and --kube-reserved, in the kubelet's syntax. */
import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { allocatable, collectNodeInfo, parseReserved, parseTaints } from '../../edge-agent/node-info.js';

describe('--register-with-taints', () => {
  it('reads key[=value]:effect lists as the kubelet does', () => {
    expect(parseTaints('node-role.kubernetes.io/edge:NoSchedule, dedicated=cameras:NoExecute,,x=:PreferNoSchedule')).toEqual([
      { key: 'node-role.kubernetes.io/edge', effect: 'NoSchedule' },
      { key: 'dedicated', value: 'cameras', effect: 'NoExecute' },
      { key: 'x', value: '', effect: 'PreferNoSchedule' },
    ]);
  });

  it('refuses an entry without a known effect or a key', () => {
    expect(() => parseTaints('edge')).toThrow(/key\[=value\]:effect/);
    expect(() => parseTaints('edge:Sometimes')).toThrow(/NoSchedule, PreferNoSchedule, NoExecute/);
    expect(() => parseTaints('=v:NoSchedule')).toThrow(/needs a key/);
  });

  it('go into the hello\'s node info only when given', () => {
    expect(collectNodeInfo({}).taints).toBeUndefined();
    expect(collectNodeInfo({ taints: [{ key: 'edge', effect: 'NoSchedule' }] }).taints).toEqual([{ key: 'edge', effect: 'NoSchedule' }]);
  });
});

describe('reservations (--system-reserved, --kube-reserved)', () => {
  it('parses the kubelet syntax and subtracts it from capacity for allocatable', () => {
    expect(parseReserved('cpu=250m,memory=256Mi')).toEqual({ cpuMillis: 250, memoryBytes: 256 * 2 ** 20 });
    expect(parseReserved(' memory=1Gi , cpu=1 ')).toEqual({ cpuMillis: 1000, memoryBytes: 2 ** 30 });
    expect(allocatable({ cpu: '4', memory: '1048576Ki', pods: '110' }, { cpuMillis: 500, memoryBytes: 256 * 2 ** 20 })).toEqual({ cpu: '3500m', memory: '786432Ki', pods: '110' });
    expect(allocatable({ cpu: '2', memory: '1024Ki', pods: '110' }, { cpuMillis: 1000, memoryBytes: 2 ** 30 })).toEqual({ cpu: '1', memory: '0Ki', pods: '110' });
    expect(collectNodeInfo({ reserved: { cpuMillis: 0, memoryBytes: 1024 } }).allocatable?.memory).toBe(`${Math.floor(os.totalmem() / 1024) - 1}Ki`);
  });

  it('refuses what it does not understand, naming it', () => {
    expect(() => parseReserved('pid=100')).toThrow('expected cpu=QUANTITY,memory=QUANTITY, got "pid=100"');
    expect(() => parseReserved('memory=lots')).toThrow('memory: "lots" is not a quantity');
    expect(() => parseReserved('cpu')).toThrow('got "cpu"');
  });
});

/** The agent's --register-with-taints, in the kubelet's syntax. */
import { describe, expect, it } from 'vitest';
import { collectNodeInfo, parseTaints } from '../../edge-agent/node-info.js';

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

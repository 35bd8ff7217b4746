/**
 * Toleration matching as Kubernetes does it, the taint manager's minimum tolerationSeconds, and
 * the autonomy rule: outage tolerations lose their seconds (or are added), nothing else changes,
 * which is all that kube's pod update validation (validateOnlyAddedTolerations) lets an update do.
 */
import { describe, expect, it } from 'vitest';
import { tolerates, tolerationSecondsFor, unboundedTolerations, type Toleration } from '../../../protocol/kube/index.js';

const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
const notReady = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };

/** kube's validateOnlyAddedTolerations: every old toleration is still there, compared without tolerationSeconds. */
function onlyAddedOrSecondsChanged(before: Toleration[], after: Toleration[]): boolean {
  const strip = ({ tolerationSeconds: _s, ...rest }: Toleration) => JSON.stringify(Object.entries(rest).sort());
  return before.every((old) => after.some((next) => strip(next) === strip(old)));
}

describe('tolerates', () => {
  it('matches by effect, key and operator as kube does', () => {
    expect(tolerates({ operator: 'Exists' }, unreachable)).toBe(true);
    expect(tolerates({ key: unreachable.key, operator: 'Exists' }, unreachable)).toBe(true);
    expect(tolerates({ key: unreachable.key, operator: 'Exists', effect: 'NoSchedule' }, unreachable)).toBe(false);
    expect(tolerates({ key: notReady.key, operator: 'Exists' }, unreachable)).toBe(false);
    expect(tolerates({ key: unreachable.key }, unreachable)).toBe(true); // Equal with empty value
    expect(tolerates({ key: unreachable.key, value: 'x' }, unreachable)).toBe(false);
    expect(tolerates({ key: 'a', operator: 'Equal', value: 'b' }, { key: 'a', value: 'b', effect: 'NoExecute' })).toBe(true);
    expect(tolerates({ key: 'a', operator: 'Gt', value: 'b' }, { key: 'a', value: 'b', effect: 'NoExecute' })).toBe(false);
  });
});

describe('tolerationSecondsFor', () => {
  it('is 0 for an untolerated taint, -1 for unbounded, else the smallest matching seconds', () => {
    expect(tolerationSecondsFor([unreachable], [])).toBe(0);
    expect(tolerationSecondsFor([unreachable], [{ key: unreachable.key, operator: 'Exists', effect: 'NoExecute' }])).toBe(-1);
    expect(tolerationSecondsFor([unreachable], [{ key: unreachable.key, operator: 'Exists', tolerationSeconds: 300 }])).toBe(300);
    // A bounded toleration wins over an unbounded one for the same taint.
    expect(tolerationSecondsFor([unreachable], [{ operator: 'Exists' }, { key: unreachable.key, operator: 'Exists', tolerationSeconds: 30 }])).toBe(30);
    expect(tolerationSecondsFor([unreachable, notReady], [{ key: unreachable.key, operator: 'Exists' }])).toBe(0);
    expect(tolerationSecondsFor([unreachable], [{ key: unreachable.key, operator: 'Exists', tolerationSeconds: -5 }])).toBe(0);
  });
});

describe('unboundedTolerations', () => {
  it('drops tolerationSeconds of the outage tolerations (the DefaultTolerationSeconds ones), keeping order and other fields', () => {
    const before: Toleration[] = [
      { key: 'dedicated', operator: 'Equal', value: 'edge', effect: 'NoSchedule' },
      { key: notReady.key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: unreachable.key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ];
    const after = unboundedTolerations(before)!;
    expect(after).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'edge', effect: 'NoSchedule' },
      { key: notReady.key, operator: 'Exists', effect: 'NoExecute' },
      { key: unreachable.key, operator: 'Exists', effect: 'NoExecute' },
    ]);
    expect(onlyAddedOrSecondsChanged(before, after)).toBe(true);
    expect(tolerationSecondsFor([unreachable], after)).toBe(-1);
    expect(tolerationSecondsFor([notReady], after)).toBe(-1);
  });

  it('adds the tolerations a pod lacks, and also unbounds a wildcard that would otherwise cap them', () => {
    const before: Toleration[] = [{ operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }];
    const after = unboundedTolerations(before)!;
    expect(after).toEqual([{ operator: 'Exists', effect: 'NoExecute' }]);
    expect(onlyAddedOrSecondsChanged(before, after)).toBe(true);

    const none = unboundedTolerations([])!;
    expect(none).toEqual([
      { key: unreachable.key, operator: 'Exists', effect: 'NoExecute' },
      { key: notReady.key, operator: 'Exists', effect: 'NoExecute' },
    ]);
    expect(tolerationSecondsFor([unreachable, notReady], none)).toBe(-1);
  });

  it('is undefined for a pod that already stays forever', () => {
    expect(unboundedTolerations([{ operator: 'Exists' }])).toBeUndefined();
    expect(unboundedTolerations([{ key: unreachable.key, operator: 'Exists', effect: 'NoExecute' }, { key: notReady.key, operator: 'Exists' }])).toBeUndefined();
    // Seconds on a toleration of another taint are not ours to change.
    expect(unboundedTolerations([{ operator: 'Exists' }, { key: 'other', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }])).toBeUndefined();
  });
});

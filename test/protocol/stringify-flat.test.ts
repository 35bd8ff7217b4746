/**
 * stringifyFlat: the same text as JSON.stringify, kept in less memory (one flat string instead of
 * V8's tree of pieces).
 */
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { stringifyFlat, type JsonValue } from '../../protocol/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function pod(i: number): JsonValue {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: 'default', labels: { app: 'web', index: String(i) }, uid: `1ea3a89c-e25e-4cc6-82ed-${String(i).padStart(12, '0')}` },
    spec: {
      nodeName: `node-${i}`,
      containers: [{ name: 'web', image: 'registry.example/web:1.2.3', command: ['sh', '-c', 'exec httpd -f'], env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'shared', key: 'token' } } }] }],
      dnsPolicy: 'ClusterFirst',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
    },
  };
}

/** Heap bytes that `count` texts made by `stringify` keep alive. */
function retainedBytes(stringify: (value: JsonValue) => string, count: number): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept: string[] = [];
  for (let i = 0; i < count; i++) kept.push(stringify(pod(i)));
  gc();
  const after = process.memoryUsage().heapUsed;
  expect(kept).toHaveLength(count);
  return after - before;
}

describe('stringifyFlat', () => {
  it('gives the text JSON.stringify gives', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => stringifyFlat(value as JsonValue) === JSON.stringify(value)), { numRuns: 2000 });
    expect(stringifyFlat('')).toBe('""');
    expect(stringifyFlat(0)).toBe('0');
  });

  it('keeps a Pod in less heap than JSON.stringify does', () => {
    const count = 20_000;
    const plain = retainedBytes((value) => JSON.stringify(value), count);
    const flat = retainedBytes(stringifyFlat, count);
    // ~700 characters per Pod; the pieces and joins of a plain text cost ~190 bytes more.
    expect(plain - flat).toBeGreaterThan(count * 100);
  });
});

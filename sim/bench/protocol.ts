/**
 * Protocol figures: codec, merge patch and digest rates, each next to a baseline doing the
 * bare minimum of the same work in the same run.
 */
import { cacheDigest, decode, encode, mergePatch, type CacheEntry, type JsonObject, type SyncFrame } from '../../protocol/index.js';
import { createHash } from 'node:crypto';
import { measureRate, verdict } from './measure.js';
import type { BenchSection } from './section.js';

export function samplePod(index: number, image = 'registry.example/app:1.0'): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `web-${index}`,
      namespace: 'default',
      uid: `6f1c1a5e-0d1b-4c1e-9a59-${String(index).padStart(12, '0')}`,
      labels: { app: 'web', tier: 'frontend', 'edge-sync.io/site': 'site-a' },
      annotations: { 'edge-sync.io/written-at': '1700000000000' },
      creationTimestamp: '2026-11-29T10:00:00Z',
    },
    spec: {
      nodeName: 'edge-1',
      restartPolicy: 'Always',
      containers: [
        {
          name: 'web',
          image,
          command: ['node', '/app/server.js'],
          args: ['--port', '8080'],
          env: [
            { name: 'MODE', value: 'edge' },
            { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'web-secret', key: 'api-key' } } },
          ],
          envFrom: [{ configMapRef: { name: 'web-config' } }],
          volumeMounts: [{ name: 'config', mountPath: '/etc/web' }],
          resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
        },
      ],
      volumes: [{ name: 'config', configMap: { name: 'web-config' } }],
      terminationGracePeriodSeconds: 30,
    },
  };
}

/** A sync frame of `targetBytes` (±1 byte of padding granularity). */
export function syncFrameOfSize(targetBytes: number): SyncFrame {
  const frame: SyncFrame = { v: 1, t: 'sync', seq: 42, ops: [{ op: 'put', key: 'Pod/default/web-0', rv: 'AAAAAAAAAAAAAAAA', obj: samplePod(0) }] };
  const base = Buffer.byteLength(encode(frame));
  const pod = samplePod(0);
  (pod.metadata as JsonObject).annotations = { 'edge-sync.io/written-at': '1700000000000', pad: 'x'.repeat(Math.max(0, targetBytes - base - 9)) };
  frame.ops = [{ op: 'put', key: 'Pod/default/web-0', rv: 'AAAAAAAAAAAAAAAA', obj: pod }];
  return frame;
}

export function protocolBench(ms: number): BenchSection {
  const frame = syncFrameOfSize(2048);
  const frameBytes = Buffer.byteLength(encode(frame));
  const codec = measureRate(() => decode(Buffer.from(encode(frame))), ms);
  const bareJson = measureRate(() => JSON.parse(Buffer.from(JSON.stringify(frame)).toString('utf8')), ms);

  const before = samplePod(1);
  const after = structuredClone(before);
  ((after.metadata as JsonObject).labels as JsonObject).version = 'v2';
  ((after.metadata as JsonObject).annotations as JsonObject)['edge-sync.io/written-at'] = '1700000000500';
  (((after.spec as JsonObject).containers as JsonObject[])[0] as JsonObject).image = 'registry.example/app:1.1';
  const patchBytes = JSON.stringify(mergePatch.diff(before, after)).length;
  const patch = measureRate(() => mergePatch.apply(before, mergePatch.diff(before, after) as JsonObject), ms);
  const fullCopy = measureRate(() => JSON.parse(JSON.stringify(after)), ms);

  const entries: CacheEntry[] = [];
  for (let i = 0; i < 1000; i++) entries.push([`Pod/ns-${i % 17}/pod-${i}`, `rv${(i * 7919) % 100003}`]);
  const unsortedText = entries.map(([k, r]) => `${k}@${r}\n`).join('');
  const digest = measureRate(() => cacheDigest(entries), ms, 10);
  const bareHash = measureRate(() => createHash('sha256').update(unsortedText).digest('base64url'), ms, 10);

  return {
    title: 'Protocol',
    header: ['measure', 'edge-sync', 'baseline', 'baseline is', 'target', 'verdict'],
    rows: [
      [
        `encode+decode ${frameBytes} B sync frame, per s`,
        Math.round(codec.opsPerSecond),
        Math.round(bareJson.opsPerSecond),
        'JSON.stringify+parse, no validation',
        '>= 50,000',
        verdict(codec.opsPerSecond, 50_000),
      ],
      [
        `merge-patch diff+apply of a Pod update (${patchBytes} B patch), per s`,
        Math.round(patch.opsPerSecond),
        Math.round(fullCopy.opsPerSecond),
        'full JSON copy of the Pod',
        '',
        '',
      ],
      ['digest of 1,000 entries, per s', Math.round(digest.opsPerSecond), Math.round(bareHash.opsPerSecond), 'SHA-256 of the same text, unsorted', '', ''],
    ],
  };
}

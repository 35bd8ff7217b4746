/**
 * Image GC against a real containerd: above the high threshold, unused images go, least
 * recently used first; images in use, young images and the sandbox (pause) image stay; below the
 * threshold nothing goes. The thresholds are set around this disk's real usage (statfs), since a
 * test cannot fill the disk.
 */
import { statfsSync } from 'node:fs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CriClient } from '../../../../edge-agent/runtime/cri/cri-client.js';
import { ImageGc } from '../../../../edge-agent/runtime/cri/image-gc.js';
import { Containerd } from '../../../helpers/containerd.js';
import { buildTestImages, type TestImages } from '../../../helpers/test-images.js';

let images: TestImages;
let containerd: Containerd;
let client: CriClient;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  images = await buildTestImages();
  containerd = await Containerd.start({ images: [images.busybox, images.pause], sandboxImage: images.pause.reference });
  client = await CriClient.connect(containerd.endpoint);
}, 180_000);

afterAll(async () => {
  client?.close();
  await containerd?.stop();
}, 60_000);

async function usage(): Promise<number> {
  const mountpoint = (await client.imageFsInfo())[0]!.fsId!.mountpoint;
  const stat = statfsSync(mountpoint);
  return 100 - (stat.bavail * 100) / stat.blocks;
}

async function tags(): Promise<string[]> {
  return (await client.listImages()).flatMap((image) => image.repoTags).sort();
}

describe('image GC', () => {
  it('refuses a low threshold that is not below the high one', () => {
    expect(() => new ImageGc({ client, logger, highPercent: 80, lowPercent: 80, now: Date.now })).toThrow(/low threshold \(80\) must be below the high one \(80\)/);
  });

  it('removes nothing below the high threshold', async () => {
    const gc = new ImageGc({ client, logger, highPercent: Math.min(100, Math.ceil(await usage()) + 5), lowPercent: 0, minAgeMs: 0, now: Date.now });
    expect((await gc.run()).removed).toEqual([]);
    expect(await tags()).toEqual([images.busybox.reference, images.pause.reference].sort());
  });

  it('above it, removes unused images, least recently used first, but never one in use or the pause image', async () => {
    const high = Math.max(1, Math.floor(await usage()) - 1);
    const config = { metadata: { name: 'gc', namespace: 'default', uid: `gc-${process.pid}`, attempt: 0 }, linux: { securityContext: { namespaceOptions: { network: 'NODE' as const } } } };
    const sandbox = await client.runPodSandbox(config);
    const container = await client.createContainer(sandbox, { metadata: { name: 'user', attempt: 0 }, image: { image: images.busybox.reference }, command: ['true'] }, config);
    let time = Date.now();
    const gc = new ImageGc({ client, logger, highPercent: high, lowPercent: 0, minAgeMs: 60_000, now: () => time });
    // First seen now (and in use).
    expect((await gc.run()).removed).toEqual([]);
    time += 120_000;
    // In use by a container.
    expect((await gc.run()).removed).toEqual([]);
    await client.removeContainer(container);
    await client.stopPodSandbox(sandbox);
    await client.removePodSandbox(sandbox);
    time += 1_000;
    const result = await gc.run();
    expect(result.usagePercent).toBeGreaterThanOrEqual(high);
    expect(result.removed).toHaveLength(1);
    expect(await tags()).toEqual([images.pause.reference]);
  });
});

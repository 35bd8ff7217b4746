import { defineConfig } from 'vitest/config';

/**
 * `npm run test:images`: the suites that build container images with buildah (test/images/),
 * minutes each, kept out of `npm test`. One file at a time: a build takes both cores.
 */
export default defineConfig({
  test: {
    include: ['test/images/**/*.test.ts'],
    testTimeout: 600_000,
    // A hang guard only: building both images took 11 min on this 2-core machine at load 15 to
    // 20 (32 min with buildah --layers: vfs copies the whole file system for every layer).
    hookTimeout: 3_600_000,
    pool: 'forks',
    maxWorkers: 1,
    globalSetup: ['test/global-setup.ts'],
  },
});

import { defineConfig } from 'vitest/config';

/**
 * `npm run test:images`: the suites that build container images with buildah (test/images/),
 * minutes each, kept out of `npm test`. One file at a time: a build takes both cores.
 */
export default defineConfig({
  test: {
    include: ['test/images/**/*.test.ts'],
    testTimeout: 600_000,
    // A hang guard only: building both images took 32 min on this machine at load 20 with
    // buildah --layers (vfs copies the whole file system per layer); minutes on an idle one.
    hookTimeout: 3_600_000,
    pool: 'forks',
    maxWorkers: 1,
    globalSetup: ['test/global-setup.ts'],
  },
});

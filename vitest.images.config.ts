import { defineConfig } from 'vitest/config';

/**
 * `npm run test:images`: the suites that build container images with buildah (test/images/),
 * minutes each, kept out of `npm test`. One file at a time: a build takes both cores.
 */
export default defineConfig({
  test: {
    include: ['test/images/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 1_800_000,
    pool: 'forks',
    maxWorkers: 1,
    globalSetup: ['test/global-setup.ts'],
  },
});

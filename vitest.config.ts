import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/images/ builds container images (minutes): `npm run test:images`, vitest.images.config.ts.
    exclude: [...configDefaults.exclude, 'test/images/**'],
    // Integration tests start real processes and servers; give them room on a 2-core CI box.
    // A test timeout only catches a hang (conditions carry their own deadlines): with a second
    // `npm test` beside this one, starting one process took up to 14 s, so a test that starts
    // two or three must not be cut off at 30 s.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Most suites wait on child processes and sockets, not the CPU: three files at a time on a
    // 2-core CI box (vitest's default there would be one).
    maxWorkers: 3,
    globalSetup: ['test/global-setup.ts'],
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real processes and servers; give them room on a 2-core CI box.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most suites wait on child processes and sockets, not the CPU: three files at a time on a
    // 2-core CI box (vitest's default there would be one).
    maxWorkers: 3,
    globalSetup: ['test/global-setup.ts'],
  },
});

import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/** The stall watchdog and the browser timing tests: one file at a time, alone, after the other tests, so that its latency figures are its own. */
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ['e2e/watchdog/**/*.test.ts', 'e2e/timing/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});

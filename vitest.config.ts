import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (name: string, entry = 'index.ts') =>
  fileURLToPath(new URL(`./packages/${name}/src/${entry}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@simscope\/protocol$/, replacement: pkg('protocol') },
      { find: /^@simscope\/config$/, replacement: pkg('config') },
      { find: /^@simscope\/block-io$/, replacement: pkg('block-io') },
      { find: /^@simscope\/client$/, replacement: pkg('client') },
      { find: /^@simscope\/client\/recorder$/, replacement: pkg('client', 'recorder/index.ts') },
      { find: /^@simscope\/monitor$/, replacement: pkg('monitor') },
      { find: /^@simscope\/telemetry$/, replacement: pkg('telemetry') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'e2e/**/*.test.ts'],
    // The stall watchdog and the browser timing tests measure latency and must run alone: vitest.watchdog.config.ts.
    exclude: ['e2e/watchdog/**', 'e2e/timing/**', '**/node_modules/**'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

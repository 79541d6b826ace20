import { readdirSync, readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * What a test file uses when it needs more than Node and this checkout: PostgreSQL (the shared fixtures run every
 * server test on it too), Redis, HDF5 tools, Python, a C compiler, Chromium, a built server or CLI process, or a
 * mail, S3 or webhook server.
 */
const NEEDS_SERVICES =
  /postgresUrl|test\/fixtures|playwright|browser\.js|ServerProcess|buildServer|buildCli|redis|h5dump|h5py|python3|spawn\(|execFile|\.listen\(|s3rver|s3-server|smtp|mail-server|webhook-receiver|notification-receivers|gcc|chromium|createServer|startServer|fault-proxy|health-poller/;

function unitTestFiles(): string[] {
  const files = readdirSync('packages', { recursive: true, encoding: 'utf8' })
    .filter((f) => /(^|\/)src\/.*\.test\.ts$/.test(f) && !f.includes('node_modules'))
    .map((f) => `packages/${f}`);
  return files.filter((f) => !NEEDS_SERVICES.test(readFileSync(f, 'utf8'))).sort();
}

/** `npm run test:unit`: the tests that need no outside service, well under a minute. */
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: unitTestFiles(),
    testTimeout: 30_000,
    pool: 'forks',
  },
});

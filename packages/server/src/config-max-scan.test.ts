import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServerConfig } from './config.js';

describe('max_scan_points', () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'simscope-scan-'));
    mkdirSync(join(root, 'home'));
    env = { SIMSCOPE_CONFIG: join(root, 'home', 'user.toml') };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('defaults to 10 M and is read from flag, environment or [server] key, in that order', () => {
    expect(loadServerConfig([], env, root).maxScanPoints).toBe(10_000_000);
    writeFileSync(join(root, 'simscope.toml'), '[server]\nmax_scan_points = 2000000\n');
    expect(loadServerConfig([], env, root).maxScanPoints).toBe(2_000_000);
    env.SIMSCOPE_MAX_SCAN_POINTS = '3000000';
    expect(loadServerConfig([], env, root).maxScanPoints).toBe(3_000_000);
    expect(loadServerConfig(['--max-scan-points', '4000000'], env, root).maxScanPoints).toBe(4_000_000);
  });

  it('refuses a figure that is not a whole number of at least 1000', () => {
    expect(() => loadServerConfig(['--max-scan-points', '10k'], env, root)).toThrow(
      "max scan points: must be a whole number, at least 1000, got '10k'",
    );
    expect(() => loadServerConfig(['--max-scan-points', '999'], env, root)).toThrow(/at least 1000/);
  });
});

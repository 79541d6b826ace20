import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServerConfig } from './config.js';

describe('operations settings', () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'simscope-ops-config-'));
    mkdirSync(join(root, 'cfg'));
    env = { XDG_CONFIG_HOME: join(root, 'cfg'), XDG_DATA_HOME: join(root, 'data') };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('has no metrics listener, no rate limits and an hourly retention pass by default', () => {
    expect(loadServerConfig([], env, root)).toMatchObject({
      metricsPort: null,
      metricsHost: '127.0.0.1',
      rateLimits: {},
      retentionInterval: 3600,
    });
  });

  it('reads flags over env over the [server] section of simscope.toml', () => {
    writeFileSync(
      join(root, 'simscope.toml'),
      '[server]\nmetrics_port = 9464\nrate_limit = "token.requests=5"\nretention_interval = 600\n',
    );
    expect(loadServerConfig([], env, root)).toMatchObject({
      metricsPort: 9464,
      rateLimits: { 'token.requests': 5 },
      retentionInterval: 600,
    });
    const fromEnv = { ...env, SIMSCOPE_METRICS_PORT: '9500', SIMSCOPE_RATE_LIMIT: 'workspace.points=1e6' };
    expect(loadServerConfig([], fromEnv, root)).toMatchObject({
      metricsPort: 9500,
      rateLimits: { 'workspace.points': 1_000_000 },
    });
    const flags = [
      '--metrics-port',
      '0',
      '--metrics-host',
      '::1',
      '--rate-limit',
      'token.artifact_bytes=1GB',
    ];
    expect(loadServerConfig(flags, fromEnv, root)).toMatchObject({
      metricsPort: 0,
      metricsHost: '::1',
      rateLimits: { 'token.artifact_bytes': 1e9 },
    });
  });

  it('refuses a bad port, interval or limit, naming the setting', () => {
    expect(() => loadServerConfig(['--metrics-port', 'x'], env, root)).toThrow(
      "metrics port: must be a whole number from 0 to 65535, got 'x'",
    );
    expect(() => loadServerConfig(['--retention-interval', '0'], env, root)).toThrow(
      "retention interval: must be a number of seconds, at least 1, got '0'",
    );
    expect(() => loadServerConfig(['--rate-limit', 'token.requests'], env, root)).toThrow(
      "rate limit: 'token.requests' is not SUBJECT.KIND=N",
    );
  });
});

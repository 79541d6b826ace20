import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseToml } from '@simscope/config';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  describeConsent,
  setTelemetryConsent,
  telemetryStatus,
  userConfigFile,
  withTelemetrySetting,
} from './consent.js';
import { TelemetryError } from './errors.js';

describe('telemetry consent', () => {
  let dir: string;
  let file: string;
  let cwd: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-consent-'));
    file = join(dir, 'config', 'simscope', 'config.toml');
    cwd = join(dir, 'project', 'src');
    mkdirSync(cwd, { recursive: true });
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const status = (env: NodeJS.ProcessEnv = {}) => telemetryStatus({ env, cwd, file });

  it('finds the user config as the server and client do', () => {
    expect(userConfigFile({ XDG_CONFIG_HOME: '/x/cfg' })).toBe('/x/cfg/simscope/config.toml');
    expect(userConfigFile({ XDG_CONFIG_HOME: '/x/cfg', SIMSCOPE_CONFIG: '/y/my.toml' })).toBe('/y/my.toml');
    expect(telemetryStatus({ env: { XDG_CONFIG_HOME: join(dir, 'config') }, cwd }).userConfigFile).toBe(file);
  });

  it('is on by default and keeps the choice of --disable and --enable in the user config, mode 0600', () => {
    expect(status()).toEqual({
      enabled: true,
      source: 'default',
      reason: 'nothing turns it off (the default)',
      userConfigFile: file,
      userSetting: undefined,
      projectFile: undefined,
    });
    const off = setTelemetryConsent(false, { env: {}, cwd, file });
    expect(off).toMatchObject({ enabled: false, source: 'user', userSetting: false });
    expect(off.reason).toBe(`[telemetry] enabled = false in ${file}`);
    expect(readFileSync(file, 'utf8')).toBe('[telemetry]\nenabled = false\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(setTelemetryConsent(true, { env: {}, cwd, file })).toMatchObject({
      enabled: true,
      source: 'user',
    });
    expect(readFileSync(file, 'utf8')).toBe('[telemetry]\nenabled = true\n');
    expect(describeConsent(status())).toBe(`Telemetry is enabled: [telemetry] enabled = true in ${file}.`);
  });

  it('turns off with DO_NOT_TRACK or SIMSCOPE_TELEMETRY=0 whatever the files say', () => {
    setTelemetryConsent(true, { env: {}, cwd, file });
    expect(status({ DO_NOT_TRACK: '1' })).toMatchObject({
      enabled: false,
      source: 'DO_NOT_TRACK',
      reason: 'DO_NOT_TRACK=1 is set',
    });
    expect(status({ DO_NOT_TRACK: 'true', SIMSCOPE_TELEMETRY: '1' }).enabled).toBe(false);
    expect(status({ DO_NOT_TRACK: '0' })).toMatchObject({ enabled: true, source: 'user' });
    expect(status({ DO_NOT_TRACK: '' })).toMatchObject({ enabled: true, source: 'user' });
    expect(status({ SIMSCOPE_TELEMETRY: '0' })).toMatchObject({
      enabled: false,
      source: 'SIMSCOPE_TELEMETRY',
    });
    expect(status({ SIMSCOPE_TELEMETRY: 'off' }).enabled).toBe(false);
    expect(status({ SIMSCOPE_TELEMETRY: 'maybe' })).toMatchObject({
      enabled: false,
      reason: 'SIMSCOPE_TELEMETRY=maybe is not one of 0, 1, true, false, yes, no, on, off',
    });
    setTelemetryConsent(false, { env: {}, cwd, file });
    expect(status({ SIMSCOPE_TELEMETRY: '1' })).toMatchObject({
      enabled: true,
      source: 'SIMSCOPE_TELEMETRY',
    });
    expect(describeConsent(status({ DO_NOT_TRACK: '1' }))).toBe(
      `Telemetry is disabled: DO_NOT_TRACK=1 is set.\nThe user config (${file}) says enabled = false, which this overrides.`,
    );
  });

  it('lets a project simscope.toml decide before the user config', () => {
    setTelemetryConsent(true, { env: {}, cwd, file });
    const project = join(dir, 'project', 'simscope.toml');
    writeFileSync(project, 'url = "http://x"\n[telemetry]\nenabled = false\n');
    expect(status()).toMatchObject({ enabled: false, source: 'project', projectFile: project });
    writeFileSync(project, '[telemetry]\nenabled = "no"\n');
    expect(status()).toMatchObject({
      enabled: false,
      source: 'project',
      reason: `${project}: [telemetry] enabled must be true or false`,
    });
  });

  it('stays off when the user config cannot be understood, and leaves such a file alone', () => {
    mkdirSync(join(dir, 'config', 'simscope'), { recursive: true });
    writeFileSync(file, 'default_profile = "local\n');
    expect(status()).toMatchObject({ enabled: false, source: 'user' });
    expect(status().reason).toMatch(/cannot be read/);
    expect(() => setTelemetryConsent(true, { env: {}, cwd, file })).toThrow(TelemetryError);
    expect(readFileSync(file, 'utf8')).toBe('default_profile = "local\n');
  });

  it('changes only the telemetry setting of a config with profiles and comments', () => {
    mkdirSync(join(dir, 'config', 'simscope'), { recursive: true });
    const before = [
      '# my settings',
      'default_profile = "local"',
      '',
      '[profiles.local]',
      'url = "http://127.0.0.1:5280"  # the laptop',
      'token = "ssk_abc"',
      '',
      '[telemetry]   # usage statistics',
      '  enabled = true # said yes in March',
      'other = 1',
      '',
      '[server]',
      'port = 6000',
      '',
    ].join('\n');
    writeFileSync(file, before, { mode: 0o644 });
    setTelemetryConsent(false, { env: {}, cwd, file });
    expect(readFileSync(file, 'utf8')).toBe(
      before.replace('  enabled = true # said yes in March', '  enabled = false # said yes in March'),
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const noTable = '# comment\ndefault_profile = "local"\n\n[profiles.local]\ntoken = "t"\n';
    expect(withTelemetrySetting(noTable, true)).toBe(`${noTable}\n[telemetry]\nenabled = true\n`);
    const tableWithoutKey = '[telemetry]\nother = 1\n[x]\ny = 2\n';
    expect(withTelemetrySetting(tableWithoutKey, false)).toBe(
      '[telemetry]\nenabled = false\nother = 1\n[x]\ny = 2\n',
    );
    const crlf = 'a = 1\r\n[telemetry]\r\nenabled = false\r\n';
    expect(withTelemetrySetting(crlf, true)).toBe('a = 1\r\n[telemetry]\r\nenabled = true\r\n');
    const dotted = 'telemetry.enabled = false\nname = "x"\n';
    expect(parseToml(withTelemetrySetting(dotted, true))).toEqual({
      telemetry: { enabled: true },
      name: 'x',
    });
    const tricky = 'note = """\n[telemetry]\nenabled = true\n"""\n';
    expect(parseToml(withTelemetrySetting(tricky, false))).toEqual({
      note: '[telemetry]\nenabled = true\n',
      telemetry: { enabled: false },
    });
    expect(() => withTelemetrySetting('telemetry = 3\n', true)).toThrow("'telemetry' is not a table");
  });
});

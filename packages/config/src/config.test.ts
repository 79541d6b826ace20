import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimscopeError } from '@simscope/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProjectFile, userConfigFile } from './config-paths.js';
import { describeConnection, resolveConnection } from './connection-resolver.js';
import { readTomlFile, updateTomlFile, writeFileAtomic } from './toml-file.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'simscope-config-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('config paths', () => {
  it('the user file is SIMSCOPE_CONFIG, else under XDG_CONFIG_HOME, else under ~/.config', () => {
    expect(userConfigFile({ XDG_CONFIG_HOME: '/x/cfg' })).toBe('/x/cfg/simscope/config.toml');
    expect(userConfigFile({ XDG_CONFIG_HOME: '/x/cfg', SIMSCOPE_CONFIG: '/y/my.toml' })).toBe('/y/my.toml');
    expect(userConfigFile({ HOME: root })).toMatch(/\/\.config\/simscope\/config\.toml$/);
  });

  it('the project file is the nearest simscope.toml from the working directory upwards', () => {
    const deep = join(root, 'a', 'b', 'c');
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(root, 'a', 'simscope.toml'), '');
    expect(findProjectFile(deep)).toBe(join(root, 'a', 'simscope.toml'));
    writeFileSync(join(root, 'a', 'b', 'simscope.toml'), '');
    expect(findProjectFile(deep)).toBe(join(root, 'a', 'b', 'simscope.toml'));
  });
});

describe('TOML files', () => {
  it('a missing file reads as empty; an invalid one is invalid_field naming the file', () => {
    expect(readTomlFile(join(root, 'none.toml'))).toEqual({});
    expect(readTomlFile(undefined)).toEqual({});
    const bad = join(root, 'bad.toml');
    writeFileSync(bad, 'url = \n');
    const error = (() => {
      try {
        readTomlFile(bad);
      } catch (e) {
        return e;
      }
    })() as SimscopeError;
    expect(error).toBeInstanceOf(SimscopeError);
    expect(error.code).toBe('invalid_field');
    expect(error.message.startsWith(`${bad}: not valid TOML: `)).toBe(true);
  });

  it('writes replace the file in one step with mode 0600, also over a file that was 0644', () => {
    const file = join(root, 'dir', 'config.toml');
    writeFileAtomic(file, 'a = 1\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, 'dir')).mode & 0o777).toBe(0o700);
    chmodSync(file, 0o644);
    updateTomlFile(file, (doc) => {
      doc.b = 'two';
    });
    expect(readFileSync(file, 'utf8')).toBe('a = 1\nb = "two"\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(root, 'dir'))).toEqual(['config.toml']);
  });

  it('a failed write leaves the old file and no temporary file', () => {
    const dir = join(root, 'dir');
    const file = join(dir, 'config.toml');
    writeFileAtomic(file, 'a = 1\n');
    mkdirSync(`${file}.${process.pid}.tmp`);
    expect(() => writeFileAtomic(file, 'a = 2\n')).toThrow(/EISDIR|EEXIST/);
    expect(readFileSync(file, 'utf8')).toBe('a = 1\n');
  });
});

describe('connection resolution', () => {
  const userFile = () => join(root, 'config.toml');
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    SIMSCOPE_CONFIG: userFile(),
    ...extra,
  });
  let project: string;

  beforeEach(() => {
    project = join(root, 'project');
    mkdirSync(project);
    writeFileSync(
      userFile(),
      'default_profile = "lab"\n\n[profiles.lab]\nurl = "http://lab:1"\ntoken = "ssk_lab"\n\n' +
        '[profiles.other]\nurl = "http://other:2"\nworkspace = "w-other"\n',
    );
  });

  it('with no files and no settings: the default URL and nothing else', () => {
    rmSync(userFile());
    const settings = describeConnection({ env: env(), cwd: project });
    expect(settings).toEqual({
      configFile: userFile(),
      projectFile: null,
      profile: { value: null, source: 'none', where: 'none' },
      url: { value: 'http://127.0.0.1:5280', source: 'default', where: 'default' },
      token: { value: null, source: 'none', where: 'none' },
      workspace: { value: null, source: 'none', where: "none (the user's first workspace)" },
      profiles: [],
    });
  });

  it('each value says where it came from: user profile, project file, option, env, flag', () => {
    writeFileSync(join(project, 'simscope.toml'), 'workspace = "w-project"\n');
    const settings = describeConnection({
      env: env({ SIMSCOPE_TOKEN: 'ssk_env' }),
      options: { token: 'ssk_option', url: 'http://option:3' },
      cwd: project,
    });
    const projectFile = join(project, 'simscope.toml');
    expect(settings.profile).toEqual({
      value: 'lab',
      source: 'user',
      where: `default_profile in ${userFile()}`,
    });
    expect(settings.url).toEqual({ value: 'http://option:3', source: 'option', where: 'option url' });
    expect(settings.token).toEqual({ value: 'ssk_env', source: 'env', where: 'env SIMSCOPE_TOKEN' });
    expect(settings.workspace).toEqual({ value: 'w-project', source: 'project', where: projectFile });
    expect(settings.profiles).toEqual([
      { name: 'lab', url: 'http://lab:1', default: true },
      { name: 'other', url: 'http://other:2', default: false },
    ]);

    const flagged = describeConnection({
      env: env({ SIMSCOPE_URL: 'http://env:4', SIMSCOPE_PROFILE: 'lab' }),
      flags: { url: 'http://flag:5', profile: 'other' },
      cwd: project,
    });
    expect(flagged.url).toEqual({ value: 'http://flag:5', source: 'flag', where: 'flag --url' });
    expect(flagged.profile).toEqual({ value: 'other', source: 'flag', where: 'flag --profile' });
    expect(flagged.token).toEqual({ value: null, source: 'none', where: 'none' });
    expect(flagged.workspace.value).toBe('w-project');
  });

  it('the profile comes from the project file before default_profile, and fills what nothing else set', () => {
    writeFileSync(join(project, 'simscope.toml'), 'profile = "other"\n');
    expect(resolveConnection({ env: env(), cwd: project })).toEqual({
      url: 'http://other:2',
      token: undefined,
      workspace: 'w-other',
    });
    expect(describeConnection({ env: env(), cwd: project }).url).toEqual({
      value: 'http://other:2',
      source: 'user',
      where: `profile 'other' in ${userFile()}`,
    });
  });

  it('a profile named by flag, env or code must exist; the URL loses its trailing slash', () => {
    expect(() => resolveConnection({ env: env({ SIMSCOPE_PROFILE: 'gone' }), cwd: project })).toThrow(
      `profile 'gone' not found in ${userFile()}`,
    );
    expect(() => resolveConnection({ env: env(), flags: { profile: 'gone' }, cwd: project })).toThrow(
      SimscopeError,
    );
    expect(resolveConnection({ env: env(), options: { url: 'http://x:1//' }, cwd: project }).url).toBe(
      'http://x:1',
    );
    expect(describeConnection({ env: env({ SIMSCOPE_PROFILE: 'gone' }), cwd: project }).url.source).toBe(
      'default',
    );
  });
});

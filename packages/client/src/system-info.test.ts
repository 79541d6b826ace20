import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectSystemInfo, parseNvidiaSmi, stripUrlCredentials } from './system-info.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(os.tmpdir(), 'system-info-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function makeDir(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  return dir;
}

function git(cwd: string, ...args: string[]): string {
  const identity = ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false'];
  return execFileSync('git', [...identity, ...args], { cwd, encoding: 'utf8' }).trim();
}

function makeRepo(name: string): string {
  const dir = makeDir(name);
  git(dir, 'init', '-q');
  writeFileSync(join(dir, 'sim.toml'), 'steps = 10\n');
  git(dir, 'add', 'sim.toml');
  git(dir, 'commit', '-q', '-m', 'first');
  return dir;
}

/** Writes an executable shell script named `name` into `dir`, standing in for a real tool on PATH. */
function writeTool(dir: string, name: string, body: string): void {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

function envWithPath(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH ?? ''}` };
}

describe('collectSystemInfo', () => {
  it('describes the host, the runtime and the git checkout, as plain JSON', async () => {
    const repo = makeRepo('repo');
    git(repo, 'checkout', '-q', '-b', 'sim/feature-1');

    const info = await collectSystemInfo({ cwd: repo });

    expect(info.host).toBe(os.hostname());
    expect(info.user).toBe(os.userInfo().username);
    expect(info.cwd).toBe(repo);
    expect(info.platform).toBe(process.platform);
    expect(info.osRelease).toBe(os.release());
    expect(info.arch).toBe(process.arch);
    expect(info.cpu).toEqual({ model: os.cpus()[0]?.model.trim(), cores: os.cpus().length });
    expect(info.memory).toEqual({ totalBytes: os.totalmem() });
    expect(info.runtime).toEqual({ name: 'node', version: process.version, v8: process.versions.v8 });
    expect(info.pid).toBe(process.pid);
    expect(info.git).toEqual({
      commit: git(repo, 'rev-parse', 'HEAD'),
      branch: 'sim/feature-1',
      dirty: false,
      remote: null,
    });
    expect(info.git?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(JSON.parse(JSON.stringify(info))).toStrictEqual(info);
  });

  it('reports a modified or untracked file as dirty', async () => {
    const repo = makeRepo('dirty');
    expect((await collectSystemInfo({ cwd: repo })).git?.dirty).toBe(false);

    writeFileSync(join(repo, 'sim.toml'), 'steps = 20\n');
    expect((await collectSystemInfo({ cwd: repo })).git?.dirty).toBe(true);

    git(repo, 'checkout', '-q', '--', 'sim.toml');
    writeFileSync(join(repo, 'output.csv'), '1,2\n');
    expect((await collectSystemInfo({ cwd: repo })).git?.dirty).toBe(true);
  });

  it('gives a null branch on a detached HEAD', async () => {
    const repo = makeRepo('detached');
    git(repo, 'checkout', '-q', '--detach');

    const info = await collectSystemInfo({ cwd: repo });

    expect(info.git).toEqual({
      commit: git(repo, 'rev-parse', 'HEAD'),
      branch: null,
      dirty: false,
      remote: null,
    });
  });

  it('records the origin URL without its credentials', async () => {
    const repo = makeRepo('remote');
    git(repo, 'remote', 'add', 'origin', 'https://user:secret@example.org/x.git');

    const info = await collectSystemInfo({ cwd: repo });

    expect(info.git?.remote).toBe('https://example.org/x.git');
    expect(JSON.stringify(info)).not.toContain('secret');
  });

  it('gives git null outside a repository', async () => {
    const dir = makeDir('plain');

    const info = await collectSystemInfo({
      cwd: dir,
      env: { ...process.env, GIT_CEILING_DIRECTORIES: root },
    });

    expect(info.git).toBeNull();
    expect(info.cwd).toBe(dir);
  });

  it('gives git null and no GPUs when neither git nor nvidia-smi is on PATH', async () => {
    const repo = makeRepo('no-tools');
    const emptyBin = makeDir('empty-bin');

    const info = await collectSystemInfo({ cwd: repo, env: { PATH: emptyBin } });

    expect(info.git).toBeNull();
    expect(info.gpus).toEqual([]);
  });

  it('runs nvidia-smi with the CSV query and parses what it prints', async () => {
    const bin = makeDir('gpu-bin');
    const expectedArgs = '--query-gpu=name,memory.total,driver_version,uuid --format=csv,noheader,nounits';
    writeTool(
      bin,
      'nvidia-smi',
      `[ "$*" = "${expectedArgs}" ] || exit 2\nprintf 'NVIDIA H100 80GB HBM3, 81559, 550.54.15, GPU-5a1b\\nNVIDIA H100 80GB HBM3, 81559, 550.54.15, GPU-7c2d\\n'`,
    );

    const info = await collectSystemInfo({ cwd: makeDir('gpu-cwd'), env: envWithPath(bin) });

    expect(info.gpus).toEqual([
      { name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, driver: '550.54.15', uuid: 'GPU-5a1b' },
      { name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, driver: '550.54.15', uuid: 'GPU-7c2d' },
    ]);
  });

  it('gives no GPUs when nvidia-smi fails', async () => {
    const bin = makeDir('broken-gpu-bin');
    writeTool(
      bin,
      'nvidia-smi',
      "echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'\nexit 9",
    );

    const info = await collectSystemInfo({ cwd: makeDir('broken-gpu-cwd'), env: envWithPath(bin) });

    expect(info.gpus).toEqual([]);
  });

  it('resolves by the time limit when a tool hangs, with that field null', async () => {
    const repo = makeRepo('slow');
    const bin = makeDir('slow-bin');
    // Not `exec sleep`: the orphaned sleep keeps the pipes open after the shell is killed.
    writeTool(bin, 'git', 'sleep 10');

    const started = performance.now();
    const info = await collectSystemInfo({ cwd: repo, timeoutMs: 300, env: envWithPath(bin) });
    const elapsed = performance.now() - started;

    expect(info.git).toBeNull();
    expect(info.host).toBe(os.hostname());
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1500);
  });
});

describe('parseNvidiaSmi', () => {
  it('reads one GPU per line, trimming extra spaces', () => {
    const text = [
      'NVIDIA A100-SXM4-80GB, 81920, 535.104.05, GPU-0f3e6a4c-1d2b-4e5f-8a9b-0c1d2e3f4a5b',
      '   NVIDIA A100-SXM4-80GB ,   81920 ,535.104.05   ,  GPU-9e8d7c6b-5a4f-3e2d-1c0b-a9f8e7d6c5b4   ',
      'Tesla T4, 15360, 470.82.01, GPU-11111111-2222-3333-4444-555555555555',
      '',
    ].join('\n');

    expect(parseNvidiaSmi(text)).toEqual([
      {
        name: 'NVIDIA A100-SXM4-80GB',
        memoryMiB: 81920,
        driver: '535.104.05',
        uuid: 'GPU-0f3e6a4c-1d2b-4e5f-8a9b-0c1d2e3f4a5b',
      },
      {
        name: 'NVIDIA A100-SXM4-80GB',
        memoryMiB: 81920,
        driver: '535.104.05',
        uuid: 'GPU-9e8d7c6b-5a4f-3e2d-1c0b-a9f8e7d6c5b4',
      },
      {
        name: 'Tesla T4',
        memoryMiB: 15360,
        driver: '470.82.01',
        uuid: 'GPU-11111111-2222-3333-4444-555555555555',
      },
    ]);
  });

  it('accepts CRLF line ends, skips lines without four fields, and gives null memory where none is reported', () => {
    const text = 'No devices were found\r\nNVIDIA GH200, [N/A], 560.35.03, GPU-abcd\r\n\r\n';

    expect(parseNvidiaSmi(text)).toEqual([
      { name: 'NVIDIA GH200', memoryMiB: null, driver: '560.35.03', uuid: 'GPU-abcd' },
    ]);
  });

  it('keeps a comma inside the GPU name', () => {
    expect(parseNvidiaSmi('Odd, Name GPU, 1024, 1.0, GPU-1\n')).toEqual([
      { name: 'Odd, Name GPU', memoryMiB: 1024, driver: '1.0', uuid: 'GPU-1' },
    ]);
  });

  it('gives no GPUs for empty output', () => {
    expect(parseNvidiaSmi('')).toEqual([]);
  });
});

describe('stripUrlCredentials', () => {
  it('drops all user info from http(s) URLs and only the password elsewhere', () => {
    expect(stripUrlCredentials('https://user:secret@example.org/x.git')).toBe('https://example.org/x.git');
    expect(stripUrlCredentials('https://ghp_token@github.com/a/b.git')).toBe('https://github.com/a/b.git');
    expect(stripUrlCredentials('http://u:p@ss@host:8080/x')).toBe('http://host:8080/x');
    expect(stripUrlCredentials('ssh://git:secret@host/x.git')).toBe('ssh://git@host/x.git');
    expect(stripUrlCredentials('ssh://git@host/x.git')).toBe('ssh://git@host/x.git');
  });

  it('leaves URLs without credentials, scp-like remotes and paths as they are', () => {
    expect(stripUrlCredentials('https://example.org/a@b/x.git')).toBe('https://example.org/a@b/x.git');
    expect(stripUrlCredentials('git@github.com:a/b.git')).toBe('git@github.com:a/b.git');
    expect(stripUrlCredentials('/srv/git/x.git')).toBe('/srv/git/x.git');
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Run } from '@simscope/client';
import { microsToIso as iso } from '@simscope/protocol';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../../../test/fixtures.js';
import { createProgram, main } from './cli.js';
import { type CliContext, clientFor } from './context.js';
import { collectWithProgress, type ProgressStream } from './progress.js';

/** Runs `simscope …args` in this process and returns its exit code and what it wrote. */
async function simscope(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { tty?: boolean; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t), isTTY: options.tty ?? false },
    env,
    cwd: options.cwd ?? tmpdir(),
  };
  const code = await main(args, ctx);
  return { code, stdout, stderr };
}

describe('help', () => {
  it('every command shows its usage with examples', async () => {
    const paths: string[][] = [];
    const walk = (command: Command, path: string[]) => {
      paths.push(path);
      for (const sub of command.commands) walk(sub, [...path, sub.name()]);
    };
    const ctx = { stdout: { write: () => {} }, stderr: { write: () => {} }, env: {}, cwd: '/' };
    walk(createProgram(ctx), []);
    expect(paths.length).toBeGreaterThan(30);
    for (const path of paths) {
      const { code, stdout } = await simscope([...path, '--help'], {});
      expect(code, path.join(' ')).toBe(0);
      expect(stdout, path.join(' ')).toMatch(/^Usage: simscope/);
      expect(stdout, path.join(' ')).toContain('\nExamples:\n  $ simscope');
    }
  });

  it('a usage mistake is one line and exit code 2', async () => {
    expect(await simscope(['runs', 'list', '--bogus'], {})).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown option '--bogus'\n(add --help for usage)\n",
    });
    expect(await simscope(['runs', 'list', '--limit', '0'], {})).toMatchObject({
      code: 2,
      stderr: "simscope: --limit: must be a whole number ≥ 1, got '0'\n",
    });
    expect((await simscope(['nosuch'], {})).code).toBe(2);
  });

  it('run and sweep name the option of a usage mistake before starting anything', async () => {
    const mistakes: [string[], string][] = [
      [
        ['run', '--events', 'bogus', '--', 'true'],
        "error: option '--events <which>' argument 'bogus' is invalid. Allowed choices are all, matched, none.\n(add --help for usage)\n",
      ],
      [
        ['run', '--walltime-warning', 'soon', '--', 'true'],
        "simscope: --walltime-warning: 'soon' is not a duration; use seconds or forms like 30s, 5m, 24h, 7d\n",
      ],
      [['run', '--rewind-to', '5', '--', 'true'], 'simscope: --rewind-to: only with --resume\n'],
      [
        ['sweep', '--folder', '/s', '-p', 're=1,2', '--', 'echo', '{Re}'],
        'simscope: command: {Re} is not a parameter (re, point)\n',
      ],
    ];
    for (const [args, stderr] of mistakes)
      expect(await simscope(args, {}), args.join(' ')).toEqual({ code: 2, stdout: '', stderr });
  });
});

describe('telemetry consent', () => {
  it('keeps the choice in the user config, and says when the environment overrides it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'simscope-cli-telemetry-'));
    const env = { SIMSCOPE_CONFIG: join(home, 'config.toml') };
    try {
      expect(await simscope(['telemetry', '--disable'], env, { cwd: home })).toMatchObject({
        code: 0,
        stdout: `Telemetry disabled in ${env.SIMSCOPE_CONFIG}.\n`,
      });
      expect(readFileSync(env.SIMSCOPE_CONFIG, 'utf8')).toMatch(/\[telemetry\]\s*\nenabled = false/);
      expect((await simscope(['telemetry'], env, { cwd: home })).stdout).toMatch(/^Telemetry is disabled: /);
      const overridden = await simscope(
        ['telemetry', '--enable'],
        { ...env, DO_NOT_TRACK: '1' },
        { cwd: home },
      );
      expect(overridden.stdout).toMatch(/^Telemetry enabled in .*\nTelemetry is disabled: .*DO_NOT_TRACK/s);
      expect((await simscope(['telemetry', '--enable', '--disable'], env, { cwd: home })).code).toBe(2);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('queries against a server', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let env: NodeJS.ProcessEnv;
  let home: string;
  const base = 1_795_400_000_000_000;
  const run = (args: string[], options?: { tty?: boolean }) => simscope(args, env, options);

  beforeAll(async () => {
    t = await openTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    home = mkdtempSync(join(tmpdir(), 'simscope-cli-test-'));
    env = { SIMSCOPE_URL: url, SIMSCOPE_TOKEN: ADMIN_TOKEN, SIMSCOPE_CONFIG: join(home, 'config.toml') };
    // The server's clock is set to `base`, and so are the timestamps logged: not this host's clock.
    const quiet = { url, token: ADMIN_TOKEN, systemInfo: false, suppressErrors: false, sendClock: false };

    t.clock.now = base;
    const alpha = await new Run().config(quiet).init({
      name: 'alpha',
      folder: '/proj/a',
      tags: ['x', 'y z'],
      metadata: { re: 100, solver: 'piso, "fast"' },
      description: 'first',
    });
    alpha.logMetrics({ loss: 1 }, { step: 0, time: 0.5, timestamp: base + 500_000 });
    alpha.logMetrics({ loss: 0.5 }, { step: 1, time: 1.5, timestamp: base + 1_500_000 });
    alpha.logMetrics({ loss: Number.NaN }, { step: 2, time: 2.5, timestamp: base + 2_500_000 });
    alpha.logEvent('hello, "world"', { timestamp: base + 100 });
    alpha.logEvent('boom', { level: 'error', timestamp: base + 200 });
    t.clock.now = base + 3_000_000;
    await alpha.close();

    t.clock.now = base + 10_000_000;
    const beta = await new Run()
      .config(quiet)
      .init({ name: 'beta', folder: '/proj/b', metadata: { re: 10 } });
    await beta.flush();
    for (let i = 0; i < 5; i++) {
      t.clock.now = base + 20_000_000 + i;
      await new Run().config(quiet).init({ name: `gamma-${i}`, folder: '/other' });
    }
  });
  afterAll(async () => {
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('runs list: table, CSV with chosen columns, JSON as the API gives it', async () => {
    const table = await run([
      'runs',
      'list',
      '--filter',
      'folder contains /proj',
      '--columns',
      'name,status,folder,tags',
    ]);
    expect(table).toEqual({
      code: 0,
      stderr: '',
      stdout:
        'name   status     folder   tags\nbeta   running    /proj/b\nalpha  completed  /proj/a  x,y z\n',
    });
    const csv = await run([
      'runs',
      'list',
      '--filter',
      'metadata.re >= 10',
      '--sort',
      'name',
      '--format',
      'csv',
      '--columns',
      'name,metadata.re,metadata.solver,tags,created,ended,duration',
    ]);
    expect(csv.stdout).toBe(
      'name,metadata.re,metadata.solver,tags,created,ended,duration\n' +
        `alpha,100,"piso, ""fast""","x,y z",${iso(base)},${iso(base + 3e6)},3\n` +
        `beta,10,,,${iso(base + 10e6)},,${csv.stdout.split('\n')[2]!.split(',').at(-1)}\n`,
    );
    const json = await run(['runs', 'list', '--filter', 'name == alpha', '--format', 'json']);
    const api = await t.app.inject({ url: '/api/v1/runs?filter=name%20%3D%3D%20alpha', headers: t.auth });
    expect(json.stdout).toBe(`${JSON.stringify(api.json().items, null, 2)}\n`);
  });

  it('runs list pages through every run with --all, and shows progress only on a terminal', async () => {
    const all = await run(['runs', 'list', '--all', '--format', 'json', '--sort', 'name']);
    expect((JSON.parse(all.stdout) as { name: string }[]).map((r) => r.name)).toEqual([
      'alpha',
      'beta',
      'gamma-0',
      'gamma-1',
      'gamma-2',
      'gamma-3',
      'gamma-4',
    ]);
    expect(all.stderr).toBe('');
    const limited = await run(['runs', 'list', '--limit', '2', '--columns', 'name']);
    expect(limited.stdout).toBe('name\ngamma-4\ngamma-3\n');
  });

  it('draws a progress line on a terminal for a listing of several pages, and clears it', async () => {
    const writes: string[] = [];
    const tty = { isTTY: true, write: (t: string) => writes.push(t) };
    const client = clientFor({ url: env.SIMSCOPE_URL!, token: ADMIN_TOKEN, workspace: undefined });
    const list = (pageSize: number, stream: ProgressStream) =>
      collectWithProgress(client.pages('listRuns', { pageSize }), 'runs', stream);
    expect(await list(2, tty)).toHaveLength(7);
    expect(writes[0]!.startsWith('\r\x1b[2K')).toBe(true);
    expect(writes[0]!.slice(5)).toMatch(/^runs: 2 in 1 pages, \d+\.\d s$/);
    expect(writes.at(-1)).toBe('\r\x1b[2K');
    writes.length = 0;
    expect(await list(10, tty)).toHaveLength(7);
    expect(await list(2, { write: (t: string) => writes.push(t) })).toHaveLength(7);
    expect(writes).toEqual([]);
  });

  it('runs show: fields and metrics; JSON with the metrics', async () => {
    const shown = await run(['runs', 'show', 'alpha']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('\nstatus           completed\n');
    expect(shown.stdout).toContain('\nmetadata.solver  piso, "fast"\n');
    expect(shown.stdout).toContain(
      '\nmetric  count  last step  last  min  max\nloss    3      2                0.5  1\n',
    );
    const json = JSON.parse((await run(['runs', 'show', 'alpha', '--format', 'json'])).stdout);
    expect(json).toMatchObject({ name: 'alpha', status: 'completed', metrics: [{ name: 'loss', count: 3 }] });
  });

  it('metrics get: CSV rows and JSON columns, exactly', async () => {
    const csv = await run(['metrics', 'get', 'alpha', 'loss']);
    expect(csv.stdout).toBe(
      'name,step,time,timestamp,value\n' +
        'loss,0,0.5,1795400000500000,1\n' +
        'loss,1,1.5,1795400001500000,0.5\n' +
        'loss,2,2.5,1795400002500000,NaN\n',
    );
    const ranged = await run([
      'metrics',
      'get',
      'alpha',
      'loss',
      '--from',
      '1',
      '--to',
      '2',
      '--format',
      'json',
    ]);
    expect(JSON.parse(ranged.stdout)).toEqual([
      { name: 'loss', steps: [1], times: [1.5], timestamps: [1795400001500000], values: [0.5] },
    ]);
    const list = await run(['metrics', 'list', 'alpha', '--format', 'csv']);
    expect(list.stdout).toBe('name,count,last_step,last_time,last_value,min,max\nloss,3,2,2.5,,0.5,1\n');
  });

  it('events: text, CSV, JSON, filters and tail', async () => {
    const csv = await run(['events', 'alpha', '--format', 'csv']);
    expect(csv.stdout).toBe(
      `time,level,message\n${iso(base + 100)},info,"hello, ""world"""\n${iso(base + 200)},error,boom\n`,
    );
    const errors = await run(['events', 'alpha', '--level', 'error', '--format', 'json']);
    expect(JSON.parse(errors.stdout)).toEqual([
      { timestamp: base + 200, time: iso(base + 200), level: 'error', message: 'boom' },
    ]);
    const tail = await run(['events', 'alpha', '--tail', '1', '--format', 'jsonl']);
    expect(tail.stdout).toBe(
      `${JSON.stringify({ timestamp: base + 200, time: iso(base + 200), level: 'error', message: 'boom' })}\n`,
    );
    const text = await run(['events', 'alpha', '--contains', 'WORLD']);
    expect(text.stdout).toMatch(/^2026-11-2\d \d\d:\d\d:20\.000 info {5}hello, "world"\n$/);
    expect((await run(['events', 'alpha', '--follow', '--format', 'json'])).code).toBe(2);
  });

  it('folders list and show', async () => {
    const list = await run(['folders', 'list', '--prefix', '/proj', '--format', 'csv']);
    expect(list.stdout.split('\n').map((l) => l.split(',')[0])).toEqual([
      'path',
      '/proj',
      '/proj/a',
      '/proj/b',
      '',
    ]);
    const shown = JSON.parse((await run(['folders', 'show', '/proj/a', '--format', 'json'])).stdout);
    expect(shown).toMatchObject({ path: '/proj/a', runs: [{ name: 'alpha' }] });
    expect(shown.runs).toHaveLength(1);
    expect((await run(['folders', 'show', '/proj/a'])).stdout).toMatch(
      /^path +\/proj\/a\n[\s\S]*\nname +id +status/,
    );
  });

  it('admin: users, workspaces, members and tokens', async () => {
    const user = JSON.parse(
      (await run(['admin', 'users', 'create', 'ada', '--email', 'ada@example.org', '--format', 'json']))
        .stdout,
    );
    expect(user).toMatchObject([{ name: 'ada', email: 'ada@example.org', admin: false }]);
    const users = await run(['admin', 'users', 'list', '--format', 'csv']);
    expect(
      users.stdout
        .split('\n')
        .map((l) => l.split(',').slice(0, 1).concat(l.split(',').slice(2, 4)).join(',')),
    ).toEqual(['name,email,admin', 'ada,ada@example.org,false', 'admin,,true', '']);
    expect((await run(['admin', 'workspaces', 'create', 'fluids'])).stdout).toMatch(
      /^name +id +created\nfluids /,
    );
    expect((await run(['admin', 'workspaces', 'add-member', 'fluids', 'ada', '--format', 'json'])).code).toBe(
      0,
    );
    const members = JSON.parse(
      (await run(['admin', 'workspaces', 'members', 'fluids', '--format', 'json'])).stdout,
    );
    expect(members.map((m: { name: string }) => m.name)).toEqual(['ada']);

    const created = await run([
      'admin',
      'tokens',
      'create',
      '--user',
      'ada',
      '--name',
      'laptop',
      '--scope',
      'read',
      '--expires-in',
      '30d',
    ]);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^ssk_\S+$/);
    const me = await simscope(
      ['runs', 'list', '--format', 'json', '--workspace', 'fluids', '--token', secret],
      env,
    );
    expect(me).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
    const tokens = JSON.parse(
      (await run(['admin', 'tokens', 'list', '--user', 'ada', '--format', 'json'])).stdout,
    );
    expect(tokens).toMatchObject([{ name: 'laptop', scopes: ['read'], revoked: null }]);
    expect(tokens[0].expires - tokens[0].created).toBe(30 * 86_400 * 1e6);
    expect((await run(['admin', 'tokens', 'revoke', tokens[0].id])).stdout).toBe(`revoked ${tokens[0].id}\n`);
    const refused = await simscope(['runs', 'list', '--token', secret], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^simscope: GET \/runs: 401 .*\n$/);

    expect(await run(['admin', 'workspaces', 'remove-member', 'fluids', 'ada'])).toMatchObject({
      stdout: 'removed ada from fluids\n',
    });
    const unconfirmed = await run(['admin', 'users', 'delete', 'ada']);
    expect(unconfirmed).toMatchObject({
      code: 2,
      stderr: 'simscope: Delete user ada and their tokens? Pass --yes to confirm.\n',
    });
    expect(await run(['admin', 'users', 'delete', 'ada', '--yes'])).toMatchObject({
      code: 0,
      stdout: 'deleted user ada\n',
    });
    expect(await run(['admin', 'workspaces', 'delete', 'fluids', '--yes'])).toMatchObject({ code: 0 });
  });

  it('alerts list shows the alerts and states of a run; monitor disk logs its samples to a run', async () => {
    const quiet = { url: env.SIMSCOPE_URL, token: ADMIN_TOKEN, systemInfo: false, suppressErrors: false };
    const watched = await new Run().config(quiet).init({ name: 'watched' });
    await watched.addAlert({ name: 'mesh quality', source: 'user' });
    await watched.logAlert('mesh quality', 'critical');
    const listed = await run(['alerts', 'list', '--run', 'watched', '--format', 'json']);
    expect(listed.code).toBe(0);
    expect(
      (JSON.parse(listed.stdout) as { alert: { name: string }; state: string }[]).map((a) => [
        a.alert.name,
        a.state,
      ]),
    ).toEqual([['mesh quality', 'critical']]);
    expect((await run(['alerts', 'list', '--run', 'alpha'])).stdout).toBe("no alerts on run 'alpha'\n");
    await watched.close();

    const disk = await run([
      'monitor',
      'disk',
      '--path',
      home,
      '--min-free',
      '1B',
      '--interval',
      '0.05',
      '--for',
      '0.3',
      '--run',
      'disk-watch',
      '--quiet',
    ]);
    expect(disk).toMatchObject({ code: 0, stderr: '' });
    const names = (await t.app.inject({ url: '/api/v1/runs/disk-watch/metrics', headers: t.auth })).json();
    expect(names.items.length).toBeGreaterThan(0);
    const bad = await run(['monitor', 'disk', '--path', home, '--min-free', 'lots']);
    expect(bad).toMatchObject({ code: 1 });
    expect(bad.stderr).toMatch(/^simscope: --min-free: /);
  });

  it('runs abort and delete', async () => {
    expect(await run(['runs', 'abort', 'beta', '--reason', 'enough'])).toMatchObject({
      code: 0,
      stdout: 'abort requested for beta\n',
    });
    const beta = (await t.app.inject({ url: '/api/v1/runs/beta', headers: t.auth })).json();
    expect(beta.abort).toMatchObject({ requested: true, reason: 'enough' });
    expect(await run(['runs', 'delete', 'gamma-0', 'gamma-1', '--yes'])).toEqual({
      code: 0,
      stdout: 'deleted gamma-0\ndeleted gamma-1\n',
      stderr: '',
    });
    const gone = await run(['runs', 'show', 'gamma-0']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^simscope: GET \/runs\/gamma-0: 404 [^\n]*\n$/);
    const debug = await run(['runs', 'show', 'gamma-0', '--debug']);
    expect(debug.stderr.split('\n')[1]).toMatch(/^ClientError: GET \/runs\/gamma-0: 404/);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('says where to get a token when there is none', async () => {
    const none = await simscope(['runs', 'list'], {
      SIMSCOPE_URL: env.SIMSCOPE_URL,
      SIMSCOPE_CONFIG: join(home, 'none.toml'),
    });
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      `simscope: no token for ${env.SIMSCOPE_URL}: run 'simscope login --url URL', set SIMSCOPE_TOKEN, or start the server once (it saves one to the user config)\n`,
    );
  });
});

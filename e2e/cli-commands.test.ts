import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Run } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, CLI_MAIN, cleanEnv, runCli } from './cli-process.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

describe('simscope commands against a server process', () => {
  let home: string;
  let server: ServerProcess;

  beforeAll(async () => {
    buildServer();
    buildCli();
    home = mkdtempSync(join(tmpdir(), 'simscope-cli-cmd-'));
    server = await ServerProcess.start({ home });
  });
  afterAll(async () => {
    server?.kill('SIGTERM');
    await server?.waitForExit();
    rmSync(home, { recursive: true, force: true });
  });

  it('login checks the token, writes the profile with mode 0600 and keeps the rest; config show says where each value comes from', async () => {
    const config = mkdtempSync(join(tmpdir(), 'simscope-login-'));
    const file = join(config, 'simscope', 'config.toml');
    const env = cleanEnv({ XDG_CONFIG_HOME: config });
    try {
      const refused = await runCli(['login', '--url', server.url, '--token', 'ssk_wrong'], {
        cwd: config,
        env,
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^simscope: GET \/me: 401 [^\n]*\n$/);

      const login = await runCli(['login', '--url', `${server.url}/`, '--token', '-', '--profile', 'lab'], {
        cwd: config,
        env,
        input: `${E2E_TOKEN}\n`,
      });
      expect(login).toMatchObject({
        code: 0,
        stdout: `Logged in to ${server.url} as admin (workspace default; scopes read, write, admin); saved as profile 'lab' in ${file}\n`,
      });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      writeFileSync(file, `${readFileSync(file, 'utf8')}\n[telemetry]\nenabled = false\n`);
      await runCli(
        ['login', '--url', 'http://127.0.0.1:1', '--token', 'ssk_x', '--profile', 'other', '--no-verify'],
        {
          cwd: config,
          env,
        },
      );
      expect(readFileSync(file, 'utf8')).toBe(
        `default_profile = "other"\n\n[profiles.lab]\nurl = "${server.url}"\ntoken = "${E2E_TOKEN}"\n\n` +
          '[profiles.other]\nurl = "http://127.0.0.1:1"\ntoken = "ssk_x"\n\n[telemetry]\nenabled = false\n',
      );

      const shown = await runCli(['config', 'show', '--format', 'json'], {
        cwd: config,
        env: { ...env, SIMSCOPE_PROFILE: 'lab' },
      });
      expect(JSON.parse(shown.stdout)).toEqual({
        configFile: file,
        projectFile: null,
        profile: { value: 'lab', source: 'env SIMSCOPE_PROFILE' },
        url: { value: server.url, source: `profile 'lab' in ${file}` },
        token: { value: `ssk_…${E2E_TOKEN.slice(-4)}`, source: `profile 'lab' in ${file}` },
        workspace: { value: null, source: "none (the user's first workspace)" },
        profiles: [
          { name: 'lab', url: server.url, default: false },
          { name: 'other', url: 'http://127.0.0.1:1', default: true },
        ],
      });
      const flagged = await runCli(['config', 'show', '--url', 'http://example.org', '--show-token'], {
        cwd: config,
        env: { ...env, SIMSCOPE_URL: 'http://ignored' },
      });
      expect(flagged.stdout).toContain('\nurl           http://example.org  (flag --url)\n');
      expect(flagged.stdout).toContain(`\ntoken         ssk_x  (profile 'other' in ${file})\n`);

      // The profile is what the other commands use.
      const list = await runCli(['runs', 'list', '--profile', 'lab', '--format', 'json'], {
        cwd: config,
        env,
      });
      expect(list).toMatchObject({ code: 0, stderr: '' });
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
  });

  it('events --follow prints new events until the run ends', async () => {
    const run = await new Run()
      .config({ url: server.url, token: E2E_TOKEN, systemInfo: false, flushIntervalMs: 50 })
      .init({ name: 'followed' });
    run.logEvent('one');
    await run.flush();
    const env = cleanEnv({ SIMSCOPE_URL: server.url, SIMSCOPE_TOKEN: E2E_TOKEN });
    let fed = false;
    const follow = runCli(['events', 'followed', '--follow', '--interval', '0.1', '--format', 'jsonl'], {
      cwd: home,
      env,
      onStdout: (chunk) => {
        if (fed || !chunk.includes('"one"')) return;
        fed = true;
        run.logEvent('two');
        run.logEvent('three', { level: 'warning' });
        void run.close();
      },
    });
    const result = await follow;
    expect(result.code).toBe(0);
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((l) => [JSON.parse(l).level, JSON.parse(l).message]),
    ).toEqual([
      ['info', 'one'],
      ['info', 'two'],
      ['warning', 'three'],
    ]);
  });

  it('simscope server starts the same server as npm start, and stops on SIGTERM', async () => {
    const own = mkdtempSync(join(tmpdir(), 'simscope-cli-server-'));
    try {
      const child = spawn(
        process.execPath,
        [CLI_MAIN, 'server', '--port', '0', '--data-dir', join(own, 'data'), '--log-level', 'warn'],
        {
          cwd: own,
          env: cleanEnv({ XDG_CONFIG_HOME: join(own, 'config'), SIMSCOPE_BOOTSTRAP_TOKEN: E2E_TOKEN }),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m && out.includes('API docs:')) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
      });
      expect(out).toBe(
        `Simscope (SQLite in ${join(own, 'data')}) listening on ${url}\n` +
          `Created user 'admin' and workspace 'default'; URL and token saved to ${join(own, 'config', 'simscope', 'config.toml')}\n` +
          `Sign in: ${url}/#token=${E2E_TOKEN}\nAPI docs: ${url}/api/v1/docs\n`,
      );
      expect(await (await fetch(`${url}/api/v1/health`)).json()).toEqual({ ok: true });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('a bad server setting is one line and a non-zero exit', async () => {
    const result = await runCli(['server', '--port', 'x'], {
      cwd: home,
      env: cleanEnv({ XDG_CONFIG_HOME: join(home, 'config') }),
    });
    expect(result).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'simscope: port: must be a whole number from 0 to 65535\n',
    });
  });
});

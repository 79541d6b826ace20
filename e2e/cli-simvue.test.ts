// The CLI as a Simvue user expects it, against a real server in this process: `simscope run` asks for a heartbeat
// timeout so a killed sidecar's run goes lost, and `simscope config import-simvue` takes Simvue's settings.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../packages/cli/src/cli.js';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';

describe('simscope run and config import-simvue for Simvue users', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let url: string;
  let dir: string;
  let client: Client;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-cli-simvue-'));
    t = await openTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    client = new Client({ url, token: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = async (args: string[], env: NodeJS.ProcessEnv, cwd = dir) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env: { PATH: process.env.PATH, SIMSCOPE_CONFIG: join(dir, 'none.toml'), ...env },
      cwd,
    });
    return { code, stdout: out.join(''), stderr: err.join('') };
  };
  const connection = { SIMSCOPE_URL: '', SIMSCOPE_TOKEN: ADMIN_TOKEN };

  it('simscope run asks for a 5 minute heartbeat timeout unless told another or none', async () => {
    const env = { ...connection, SIMSCOPE_URL: url };
    const runs: [string, string[]][] = [
      ['cli-default-timeout', []],
      ['cli-ten-minutes', ['--heartbeat-timeout', '10m']],
      ['cli-never-lost', ['--heartbeat-timeout', 'none']],
    ];
    for (const [name, flags] of runs) {
      const done = await cli(['run', '--name', name, '-q', ...flags, '--', process.execPath, '-e', '0'], env);
      expect(done).toMatchObject({ code: 0, stderr: '' });
    }
    const timeouts = await Promise.all(
      runs.map(async ([name]) => (await client.getRun(name)).heartbeatTimeout),
    );
    expect(timeouts).toEqual([300, 600, null]);
    const short = await cli(['run', '--heartbeat-timeout', '10s', '--', process.execPath, '-e', '0'], env);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain(
      'simscope: --heartbeat-timeout: must be longer than --heartbeat-interval (15 s), got 10s',
    );
  });

  it('config import-simvue saves SIMVUE_URL/SIMVUE_TOKEN or simvue.ini as a profile', async () => {
    const home = join(dir, 'home');
    const project = join(dir, 'project');
    mkdirSync(home, { recursive: true });
    mkdirSync(project, { recursive: true });
    const configFile = join(dir, 'config', 'config.toml');
    const env = { HOME: home, SIMSCOPE_CONFIG: configFile };

    const nothing = await cli(['config', 'import-simvue'], env, project);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain(
      'no Simvue url or token found: set SIMVUE_URL and SIMVUE_TOKEN, or give [server] url and token in simvue.ini (read: no simvue.ini)',
    );

    writeFileSync(join(home, '.simvue.ini'), `[server]\nurl = http://127.0.0.1:1\ntoken = ${ADMIN_TOKEN}\n`);
    writeFileSync(join(project, 'simvue.ini'), `# this project's server\n[server]\nurl = ${url}/\n`);
    const fromFiles = await cli(['config', 'import-simvue'], env, project);
    expect(fromFiles).toMatchObject({
      code: 0,
      stdout: `Saved profile 'simvue' (the default) in ${configFile}: url ${url} from ${join(project, 'simvue.ini')}, token ssk_…${ADMIN_TOKEN.slice(-4)} from ${join(home, '.simvue.ini')}\n`,
    });
    expect(readFileSync(configFile, 'utf8')).toBe(
      `default_profile = "simvue"\n\n[profiles.simvue]\nurl = "${url}"\ntoken = "${ADMIN_TOKEN}"\n`,
    );
    const shown = await cli(['config', 'show', '--format', 'json'], env, project);
    expect(JSON.parse(shown.stdout)).toMatchObject({ url: { value: url }, profile: { value: 'simvue' } });

    const fromEnv = await cli(
      ['config', 'import-simvue', '--profile', 'env', '--no-default'],
      { ...env, SIMVUE_URL: url, SIMVUE_TOKEN: ADMIN_TOKEN },
      home,
    );
    expect(fromEnv.stdout).toBe(
      `Saved profile 'env' in ${configFile}: url ${url} from SIMVUE_URL, token ssk_…${ADMIN_TOKEN.slice(-4)} from SIMVUE_TOKEN\n`,
    );
    expect(readFileSync(configFile, 'utf8')).toContain('default_profile = "simvue"');

    const refused = await cli(
      ['config', 'import-simvue', '--profile', 'bad'],
      { ...env, SIMVUE_URL: url, SIMVUE_TOKEN: 'ssk_wrong' },
      home,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^simscope: GET \/me: 401 /);
    expect(readFileSync(configFile, 'utf8')).not.toContain('[profiles.bad]');
  });
});

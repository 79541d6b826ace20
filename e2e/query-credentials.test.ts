// `new Client()` with nothing given finds what `simscope login` saved, as the CLI's own commands do: the login
// here is the CLI's code path (its `main`), writing into a temporary XDG_CONFIG_HOME.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@simscope/client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../packages/cli/src/cli.js';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';

describe('new Client() finds the credentials simscope login saved', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let url: string;
  let dir: string;
  let home: string;
  let work: string;
  let reader: string;
  const cwd = process.cwd();
  const saved = { ...process.env };

  /** `simscope ARGS` in this process, with this process's environment (the temporary config home). */
  const simscope = async (...args: string[]) => {
    const out: string[] = [];
    const write = (text: string) => out.push(text);
    const code = await main(args, { stdout: { write }, stderr: { write }, env: process.env, cwd: work });
    return { code, out: out.join('') };
  };
  const whoAmI = async (client: Client) => {
    const me = await client.call('me');
    return `${me.user.name}@${me.workspace.name}`;
  };

  beforeAll(async () => {
    t = await openTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const post = async (path: string, payload: Record<string, unknown>) => {
      const res = await t.app.inject({ method: 'POST', url: `/api/v1${path}`, headers: t.auth, payload });
      if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${res.body}`);
      return res.json<Record<string, any>>();
    };
    const ada = await post('/admin/users', { name: 'ada' });
    const lab = await post('/admin/workspaces', { name: 'lab' });
    await post(`/admin/workspaces/${lab.id}/members`, { user: ada.id });
    reader = (await post('/admin/tokens', { user: ada.id, name: 'laptop', scopes: ['read'] })).token;
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-credentials-'));
    home = join(dir, 'config');
    work = join(dir, 'work');
    mkdirSync(work);
    for (const name of Object.keys(process.env)) if (name.startsWith('SIMSCOPE_')) delete process.env[name];
    process.env.XDG_CONFIG_HOME = home;
    process.chdir(work);
  });
  afterEach(() => {
    process.chdir(cwd);
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses the profile login made the default: URL, token and workspace', async () => {
    // Nothing saved yet: no token, and the server's 401 says where one comes from.
    expect(await whoAmI(new Client({ url, retries: { total: 0 } })).catch((e: Error) => e.message)).toBe(
      `GET /me: 401 missing token: send the header 'Authorization: Bearer <token>'; no token found for ${url}: ` +
        `run 'simscope login --url ${url}', set SIMSCOPE_TOKEN, or pass { token }`,
    );
    const login = await simscope('login', '--url', url, '--token', reader, '--workspace', 'lab');
    expect(login).toEqual({
      code: 0,
      out: `Logged in to ${url} as ada (workspace lab; scopes read); saved as profile 'default' in ${join(home, 'simscope', 'config.toml')}\n`,
    });
    const client = new Client();
    expect(await whoAmI(client)).toBe('ada@lab');
    expect((await simscope('config', 'show', '--format', 'json')).out).toContain(`"value": "${url}"`);
  });

  it('takes each setting from the same place as the CLI: env over code over project over profile', async () => {
    await simscope('login', '--url', url, '--token', reader, '--profile', 'ada');
    await simscope('login', '--url', url, '--token', ADMIN_TOKEN, '--profile', 'admin');
    expect(await whoAmI(new Client())).toBe('admin@default');
    expect(await whoAmI(new Client({ profile: 'ada' }))).toBe('ada@lab');

    writeFileSync(join(work, 'simscope.toml'), 'profile = "ada"\n');
    expect(await whoAmI(new Client())).toBe('ada@lab');
    expect(await whoAmI(new Client({ token: ADMIN_TOKEN }))).toBe('admin@default');

    process.env.SIMSCOPE_PROFILE = 'admin';
    expect(await whoAmI(new Client())).toBe('admin@default');
    expect(await whoAmI(new Client({ profile: 'ada' }))).toBe('admin@default');
    process.env.SIMSCOPE_TOKEN = reader;
    expect(await whoAmI(new Client({ token: ADMIN_TOKEN }))).toBe('ada@lab');
    expect((await simscope('runs', 'list', '--format', 'json')).code).toBe(0);

    process.env.SIMSCOPE_PROFILE = 'nobody';
    expect(() => new Client()).toThrow(
      `profile 'nobody' not found in ${join(home, 'simscope', 'config.toml')}`,
    );
    expect(readFileSync(join(home, 'simscope', 'config.toml'), 'utf8')).toContain(
      'default_profile = "admin"',
    );
  });
});

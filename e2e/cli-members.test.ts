import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../packages/cli/src/cli.js';
import { makeMember } from '../test/access-fixtures.js';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';

describe('simscope members, share and audit', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let url = '';
  let home = '';

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'simscope-members-'));
    t = await openTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function cli(token: string, ...args: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await main(args, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: { XDG_CONFIG_HOME: home, SIMSCOPE_URL: url, SIMSCOPE_TOKEN: token },
      cwd: home,
    });
    return { code, stdout, stderr };
  }

  it('an owner invites, changes roles, removes members, shares a run and reads the audit log', async () => {
    const ada = await makeMember(t.app, ADMIN_TOKEN, 'ada', 'default', 'viewer');
    const invite = await cli(ADMIN_TOKEN, 'members', 'invite', '--role', 'editor', '--expires-in', '2d');
    expect(invite.code).toBe(0);
    const link = invite.stdout.split('\n')[0] ?? '';
    expect(link).toMatch(new RegExp(`^${url}/invite#inv_[A-Za-z0-9_-]{43}$`));
    expect(invite.stdout.split('\n')[1]).toMatch(/^\(editor, works once, until /);

    const bob = await makeMember(t.app, ADMIN_TOKEN, 'bob', 'default', null);
    expect(await cli(bob.token, 'members', 'accept', link)).toMatchObject({
      code: 0,
      stdout: 'joined workspace default as editor\n',
    });

    expect(await cli(ADMIN_TOKEN, 'members', 'set-role', 'ada', 'editor')).toMatchObject({
      code: 0,
      stdout: 'ada is now editor\n',
    });
    const bad = await cli(ADMIN_TOKEN, 'members', 'set-role', 'ada', 'boss');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("simscope: role must be one of owner, editor, viewer, got 'boss'\n");
    const refused = await cli(ada.token, 'members', 'list');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('403');

    const list = await cli(ADMIN_TOKEN, 'members', 'list', '--format', 'json');
    expect(Object.fromEntries(JSON.parse(list.stdout).map((m: any) => [m.name, m.role]))).toEqual({
      admin: 'owner',
      ada: 'editor',
      bob: 'editor',
    });
    expect(await cli(ADMIN_TOKEN, 'members', 'remove', 'bob', '--yes')).toMatchObject({
      code: 0,
      stdout: 'removed bob\n',
    });

    const run = await t.call('POST', '/runs', { name: 'cli-shared' });
    const share = await cli(ADMIN_TOKEN, 'share', 'create', '--run', 'cli-shared');
    expect(share.stdout).toMatch(new RegExp(`^${url}/share#shr_[A-Za-z0-9_-]{43}\\n$`));
    const shares = JSON.parse((await cli(ADMIN_TOKEN, 'share', 'list', '--format', 'json')).stdout);
    expect(shares.map((s: any) => s.run)).toEqual([run.body.id]);
    expect(await cli(ADMIN_TOKEN, 'share', 'revoke', shares[0].id)).toMatchObject({ code: 0 });

    const audit = await cli(ADMIN_TOKEN, 'audit', '--format', 'json', '--limit', '6');
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.stdout).map((a: any) => [a.actorName, a.action])).toEqual([
      ['admin', 'share.revoke'],
      ['admin', 'share.create'],
      ['admin', 'run.create'],
      ['admin', 'membership.delete'],
      ['admin', 'membership.change'],
      ['bob', 'membership.create'],
    ]);
    const table = await cli(ADMIN_TOKEN, 'audit', '--limit', '1');
    expect(table.stdout.split('\n')[0]).toMatch(/^at\s+actor\s+action\s+target\s+details$/);
  });
});

import { describe, expect, it } from 'vitest';
import { api, makeMember } from '../../../../test/access-fixtures.js';
import { ADMIN_TOKEN, appForSuite, BACKENDS } from '../../../../test/fixtures.js';

let n = 0;
const unique = (prefix: string) => `${prefix}-${++n}-${Date.now().toString(36)}`;

describe.each(BACKENDS)('roles, invites, share links and the audit log on %s', (backend) => {
  const t = appForSuite(backend);

  /** A new workspace with an owner, an editor and a viewer. */
  async function team() {
    const ws = unique('ws');
    expect((await t.call('POST', '/admin/workspaces', { name: ws })).status).toBe(201);
    const owner = await makeMember(t.app, ADMIN_TOKEN, unique('owner'), ws, 'owner');
    const editor = await makeMember(t.app, ADMIN_TOKEN, unique('editor'), ws, 'editor');
    const viewer = await makeMember(t.app, ADMIN_TOKEN, unique('viewer'), ws, 'viewer');
    const as = (m: { token: string }) => (method: string, url: string, body?: unknown) =>
      api(t.app, m.token, method, url, body, ws);
    return { ws, owner, editor, viewer, as };
  }

  it('makes the bootstrap admin the owner of default', async () => {
    const members = await t.call('GET', '/members');
    expect(members.status).toBe(200);
    expect(members.body.items.map((m: any) => [m.name, m.role])).toEqual([['admin', 'owner']]);
  });

  it('lets viewers read, editors write and owners manage members; the last owner stays', async () => {
    const { owner, editor, viewer, as } = await team();
    expect((await as(viewer)('GET', '/runs')).status).toBe(200);
    const refused = await as(viewer)('POST', '/runs', { name: 'r1' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/role .* is viewer; this route needs the editor role/);
    expect((await as(editor)('POST', '/runs', { name: 'r1' })).status).toBe(201);
    expect((await as(editor)('GET', '/members')).status).toBe(403);

    const members = await as(owner)('GET', '/members');
    const roles = Object.fromEntries(members.body.items.map((m: any) => [m.name, m.role]));
    expect(roles).toEqual({ [owner.name]: 'owner', [editor.name]: 'editor', [viewer.name]: 'viewer' });
    const promoted = await as(owner)('PATCH', `/members/${viewer.name}`, { role: 'editor' });
    expect(promoted.status).toBe(200);
    expect(promoted.body.role).toBe('editor');
    // Takes effect at once: the role cache is dropped.
    expect((await as(viewer)('POST', '/runs', { name: 'r2' })).status).toBe(201);

    const last = await as(owner)('PATCH', `/members/${owner.name}`, { role: 'viewer' });
    expect(last.status).toBe(409);
    expect((await as(owner)('DELETE', `/members/${owner.name}`)).status).toBe(409);
    expect((await as(owner)('PATCH', `/members/${owner.name}`, { role: 'boss' })).status).toBe(400);

    expect((await as(owner)('DELETE', `/members/${editor.name}`)).status).toBe(204);
    expect((await as(editor)('GET', '/runs')).status).toBe(403);
    expect((await as(owner)('DELETE', `/members/${editor.name}`)).status).toBe(404);
  });

  it('a read-only token of an owner cannot manage members (scope ∩ role)', async () => {
    const { ws, owner } = await team();
    const token = await t.call('POST', '/admin/tokens', { user: owner.name, name: 'ro', scopes: ['read'] });
    const ro = (method: string, url: string, body?: unknown) =>
      api(t.app, token.body.token, method, url, body, ws);
    expect((await ro('GET', '/runs')).status).toBe(200);
    const members = await ro('GET', '/members');
    expect(members.status).toBe(403);
    expect(members.body.error.message).toBe("this token lacks the 'write' scope");
  });

  it('server admins read a workspace only as members', async () => {
    const { ws } = await team();
    const res = await api(t.app, ADMIN_TOKEN, 'GET', '/runs', undefined, ws);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toBe(`you are not a member of workspace '${ws}'`);
  });

  it('invites: a single-use link makes a user without a workspace a member with its role', async () => {
    const { ws, owner, as } = await team();
    const invite = await as(owner)('POST', '/invites', { role: 'editor' });
    expect(invite.status).toBe(201);
    expect(invite.body.token).toMatch(/^inv_[A-Za-z0-9_-]{43}$/);
    expect(invite.body.link).toBe(`/invite#${invite.body.token}`);
    expect(invite.body.role).toBe('editor');

    const newcomer = await makeMember(t.app, ADMIN_TOKEN, unique('newcomer'), ws, null);
    expect((await api(t.app, newcomer.token, 'GET', '/runs')).status).toBe(403);
    const accepted = await api(t.app, newcomer.token, 'POST', '/invites/accept', {
      token: invite.body.token,
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body.role).toBe('editor');
    expect(accepted.body.workspace.name).toBe(ws);
    expect((await api(t.app, newcomer.token, 'POST', '/runs', { name: 'mine' }, ws)).status).toBe(201);

    const other = await makeMember(t.app, ADMIN_TOKEN, unique('other'), ws, null);
    const again = await api(t.app, other.token, 'POST', '/invites/accept', { token: invite.body.token });
    expect(again.status).toBe(404);
    expect(again.body.error.message).toBe('body.token: this invite link has been used');
    const guessed = await api(t.app, other.token, 'POST', '/invites/accept', { token: 'inv_guess' });
    expect(guessed.status).toBe(404);

    const listed = await as(owner)('GET', '/invites');
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0].usedBy).toBe(newcomer.id);
    expect(listed.body.items[0].token).toBeUndefined();
  });

  it('invites expire and can be withdrawn', async () => {
    const { owner, as } = await team();
    const user = await makeMember(t.app, ADMIN_TOKEN, unique('late'), 'default', null);
    const short = await as(owner)('POST', '/invites', { expiresIn: 60 });
    const withdrawn = await as(owner)('POST', '/invites', {});
    expect(withdrawn.body.role).toBe('viewer');
    expect((await as(owner)('DELETE', `/invites/${withdrawn.body.id}`)).status).toBe(204);
    const gone = await api(t.app, user.token, 'POST', '/invites/accept', { token: withdrawn.body.token });
    expect(gone.body.error.message).toBe('body.token: this invite link is not a valid invite');
    t.clock.now += 61e6;
    try {
      const late = await api(t.app, user.token, 'POST', '/invites/accept', { token: short.body.token });
      expect(late.status).toBe(404);
      expect(late.body.error.message).toBe('body.token: this invite link has expired');
    } finally {
      t.clock.now -= 61e6;
    }
  });

  it('a run share link reads that run only, shows no other data, and stops at once when revoked', async () => {
    const { owner, editor, as } = await team();
    const run = (await as(editor)('POST', '/runs', { name: 'shared-run', folder: '/a' })).body;
    const other = (await as(editor)('POST', '/runs', { name: 'other-run', folder: '/a' })).body;
    await as(editor)('POST', `/runs/${run.id}/metrics`, {
      writer: 'w',
      seq: 1,
      series: [{ name: 'loss', values: [1, 2] }],
    });
    expect((await as(editor)('POST', '/shares', { run: run.id })).status).toBe(403);
    const share = await as(owner)('POST', '/shares', { run: run.name });
    expect(share.status).toBe(201);
    expect(share.body.token).toMatch(/^shr_[A-Za-z0-9_-]{43}$/);
    expect(share.body.link).toBe(`/share#${share.body.token}`);
    const as_ = (method: string, url: string, body?: unknown) =>
      api(t.app, share.body.token, method, url, body);

    expect((await as_('GET', `/runs/${run.id}`)).body.name).toBe('shared-run');
    expect((await as_('GET', `/runs/${run.name}/metrics`)).body.items.map((s: any) => s.name)).toEqual([
      'loss',
    ]);
    const shared = await as_('GET', '/shared');
    expect(shared.status).toBe(200);
    expect(shared.body.runs.map((r: any) => r.name)).toEqual(['shared-run']);
    expect((await as_('GET', `/runs/${other.id}`)).status).toBe(404);
    expect((await as_('GET', '/runs')).status).toBe(403);
    expect((await as_('GET', '/folders')).status).toBe(403);
    expect((await as_('GET', `/runs/${run.id}/alerts`)).status).toBe(403);
    expect((await as_('PATCH', `/runs/${run.id}`, { description: 'x' })).status).toBe(403);
    expect((await as_('DELETE', `/runs/${run.id}`)).status).toBe(403);
    expect((await as(owner)('GET', '/shared')).status).toBe(403);

    const listed = await as(owner)('GET', '/shares');
    expect(listed.body.items.map((s: any) => [s.run, s.revoked])).toEqual([[run.id, null]]);
    expect((await as(owner)('DELETE', `/shares/${share.body.id}`)).status).toBe(204);
    const revoked = await as_('GET', `/runs/${run.id}`);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toBe('this share link has been revoked');
    expect((await as_('GET', '/shared')).status).toBe(401);
    expect((await as(owner)('DELETE', `/shares/${share.body.id}`)).status).toBe(404);
  });

  it('a folder share link reads the runs of the folder and below it, nothing beside it', async () => {
    const { owner, as } = await team();
    const top = (await as(owner)('POST', '/runs', { name: 'top', folder: '/proj' })).body;
    const deep = (await as(owner)('POST', '/runs', { name: 'deep', folder: '/proj/sub' })).body;
    const beside = (await as(owner)('POST', '/runs', { name: 'beside', folder: '/project' })).body;
    const share = await as(owner)('POST', '/shares', { folder: '/proj' });
    expect(share.body.folder).toBe('/proj');
    expect((await as(owner)('POST', '/shares', { folder: '/nope' })).status).toBe(404);
    const as_ = (url: string) => api(t.app, share.body.token, 'GET', url);
    expect((await as_(`/runs/${top.id}`)).status).toBe(200);
    expect((await as_(`/runs/${deep.id}`)).status).toBe(200);
    expect((await as_(`/runs/${beside.id}`)).status).toBe(404);
    const shared = await as_('/shared');
    expect(shared.body.runs.map((r: any) => r.name).sort()).toEqual(['deep', 'top']);
  });

  it('keeps an audit log of who changed members, tokens, runs and alerts, for owners and admins', async () => {
    const { ws, owner, editor, viewer, as } = await team();
    const run = (await as(editor)('POST', '/runs', { name: 'audited' })).body;
    await as(editor)('PATCH', `/runs/${run.id}`, { description: 'd' });
    const alert = await as(editor)('POST', '/alerts', {
      name: 'a1',
      metric: 'loss',
      rule: 'is above',
      threshold: 1,
    });
    expect(alert.status).toBe(201);
    await as(owner)('PATCH', `/members/${viewer.name}`, { role: 'editor' });
    await as(editor)('DELETE', `/runs/${run.id}`);

    const log = await as(owner)('GET', '/audit');
    expect(log.status).toBe(200);
    const lines = log.body.items.map((e: any) => [e.actorName, e.action, e.targetId]);
    expect(lines).toEqual([
      [editor.name, 'run.delete', run.id],
      [owner.name, 'membership.change', viewer.name],
      [editor.name, 'alert.create', alert.body.id],
      [editor.name, 'run.change', run.id],
      [editor.name, 'run.create', run.id],
      ['admin', 'membership.create', viewer.name],
      ['admin', 'membership.create', editor.name],
      ['admin', 'membership.create', owner.name],
    ]);
    expect(log.body.items[1].details).toEqual({ role: 'editor', fields: ['role'], name: viewer.name });
    expect((await as(viewer)('GET', '/audit')).status).toBe(403);

    const page = await as(owner)('GET', '/audit?limit=2');
    expect(page.body.items).toHaveLength(2);
    const rest = await as(owner)('GET', `/audit?limit=100&next=${page.body.next}`);
    expect([...page.body.items, ...rest.body.items]).toEqual(log.body.items);

    const all = await t.call('GET', `/admin/audit?workspace=${ws}&limit=100`);
    expect(all.body.items).toEqual(log.body.items);
    const password = await t.call('PUT', `/admin/users/${viewer.name}/password`, {
      password: 'correct horse battery staple',
    });
    expect(password.status).toBe(204);
    const everything = await t.call('GET', '/admin/audit?limit=1000');
    expect(everything.body.items[0]).toMatchObject({
      actorName: 'admin',
      action: 'user.password',
      targetId: viewer.name,
      details: null,
    });
    expect(JSON.stringify(everything.body.items)).not.toContain('correct horse');
    expect(everything.body.items.some((e: any) => e.action === 'token.create' && e.workspace === null)).toBe(
      true,
    );
  });
});

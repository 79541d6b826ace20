import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../test/fixtures.js';
import { SCREENSHOTS } from './browser.js';
import { screenshots, webAppForSuite } from './web-harness.js';

const OUT = join(SCREENSHOTS, 'access');

describe('members, audit and share pages in Chromium', () => {
  beforeAll(() => {
    mkdirSync(OUT, { recursive: true });
  });
  const ui = webAppForSuite('simscope-web-access-');
  const { admin } = ui;

  it('an owner changes a role and makes an invite link; the audit page shows it', async () => {
    await admin('POST', '/admin/users', { name: 'ada', email: 'ada@example.org' });
    await admin('POST', '/admin/workspaces/default/members', { user: 'ada', role: 'viewer' });
    const page = ui.page;
    await page.goto(`${ui.base}/#token=${ADMIN_TOKEN}`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).click();
    const role = page.getByRole('combobox', { name: 'Role of ada' });
    await expect.poll(() => role.inputValue()).toBe('viewer');
    await role.selectOption('editor');
    await expect
      .poll(async () => (await admin('GET', '/members')).items.find((m: any) => m.name === 'ada')?.role)
      .toBe('editor');

    await page.getByRole('button', { name: 'Make an invite link' }).click();
    const link = await page.getByRole('textbox', { name: 'Invite link' }).inputValue();
    expect(link).toMatch(new RegExp(`^${ui.base}/invite#inv_[A-Za-z0-9_-]{43}$`));
    await screenshots(page, OUT, 'members');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    const log = page.getByRole('table', { name: 'Audit log' });
    await log.getByRole('cell', { name: 'membership.change' }).waitFor();
    expect(await log.getByRole('row').nth(1).textContent()).toContain('invite.create');
    await screenshots(page, OUT, 'audit');
  });

  it('a new user in no workspace yet signs in on an invite link, joins, and lands in the workspace', async () => {
    const invite = await admin('POST', '/invites', { role: 'editor' });
    await admin('POST', '/admin/users', { name: 'newcomer' });
    const token = await admin('POST', '/admin/tokens', { user: 'newcomer', name: 'web' });
    const page = ui.page;
    await page.evaluate(() => (globalThis as any).localStorage.clear());
    await page.goto(`${ui.base}${invite.link}`);
    await page.getByLabel('Access token').fill(token.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    const members = await admin('GET', '/members');
    expect(members.items.find((m: any) => m.name === 'newcomer')?.role).toBe('editor');
    // An editor sees no owner pages.
    expect(await page.getByRole('link', { name: 'Members' }).count()).toBe(0);
  });

  it('a share link page shows the shared run only, with no controls, and nothing once revoked', async () => {
    const run = await admin('POST', '/runs', { name: 'shared-cavity', metadata: { re: 1000 } });
    await admin('POST', '/runs', { name: 'private-run' });
    await admin('POST', `/runs/${run.id}/metrics`, {
      writer: 'w',
      seq: 1,
      series: [{ name: 'loss', values: [0.5, 0.25] }],
    });
    const share = await admin('POST', '/shares', { run: run.id });
    const page = ui.page;
    await page.goto(`${ui.base}${share.link}`);
    await page.getByRole('heading', { name: 'A shared run' }).waitFor();
    await page
      .getByRole('table', { name: 'Metrics of shared-cavity' })
      .getByRole('cell', { name: 'loss' })
      .waitFor();
    expect(await page.getByRole('table', { name: 'Metadata of shared-cavity' }).textContent()).toBe('re1000');
    expect(await page.getByRole('button').count()).toBe(0);
    expect(await page.getByRole('link').count()).toBe(0);
    expect(await page.getByRole('navigation').count()).toBe(0);
    expect(await page.content()).not.toContain('private-run');
    await screenshots(page, OUT, 'share');

    await admin('DELETE', `/shares/${share.id}`);
    await page.reload();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('this share link has been revoked');
    expect(await page.content()).not.toContain('shared-cavity');
  });
});

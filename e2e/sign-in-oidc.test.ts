import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/postgres-cluster.js';
import { type Browser, buildWeb, openBrowser } from './browser.js';
import { startTestProvider, type TestProvider } from './oidc-provider.js';
import { buildServer, ServerProcess } from './server-process.js';
import { apiAt } from './web-harness.js';

/** Single sign-on end to end: Chromium signs in at `oidc-provider` on 127.0.0.1 and lands in the UI. */
describe('OpenID Connect sign-in', () => {
  let provider: TestProvider;
  let server: ServerProcess;
  let home: string;
  let url: string;
  const browsers: Browser[] = [];

  beforeAll(async () => {
    buildServer();
    buildWeb();
    home = mkdtempSync(join(tmpdir(), 'simscope-oidc-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    provider = await startTestProvider({
      redirectUri: `${url}/api/v1/auth/oidc/callback`,
      groups: (login) => (login === 'grace' ? ['physics', 'unmapped'] : []),
    });
    server = await ServerProcess.start({
      home,
      port,
      env: {
        SIMSCOPE_OIDC_ISSUER: provider.issuer,
        SIMSCOPE_OIDC_CLIENT_ID: provider.clientId,
        SIMSCOPE_OIDC_CLIENT_SECRET: provider.clientSecret,
        SIMSCOPE_OIDC_REDIRECT_URI: `${url}/api/v1/auth/oidc/callback`,
        SIMSCOPE_OIDC_SCOPE: 'openid profile email groups',
        SIMSCOPE_OIDC_WORKSPACES: 'physics=cfd-lab:viewer',
        SIMSCOPE_OIDC_NAME: 'Test IdP',
      },
    });
  }, 120_000);
  afterAll(async () => {
    for (const b of browsers) await b.close();
    server?.kill();
    await server?.waitForExit();
    await provider?.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** A fresh Chromium that may reach this host's servers (Simscope and the provider) and nothing else. */
  const browser = async () => {
    const b = await openBrowser('http://127.0.0.1:');
    b.page.setDefaultTimeout(20_000);
    browsers.push(b);
    return b;
  };
  /** Signs in at the provider's pages as `login` (any password), from the button on Simscope's sign-in page. */
  const signInAtProvider = async (b: Browser, login: string) => {
    const page = b.page;
    await page.goto(url);
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]').click();
  };

  it('creates the user on first sign-in, maps their group to a workspace and role, and lands in the UI', async () => {
    const b = await browser();
    await signInAtProvider(b, 'grace');
    await b.page.getByRole('table', { name: 'Runs' }).waitFor();
    expect(await b.page.getByTitle('Workspace').textContent()).toBe('cfd-lab');
    expect(await b.page.getByRole('link', { name: 'grace' }).isVisible()).toBe(true);
    const admin = apiAt(url);
    const members = await admin('GET', '/admin/workspaces/cfd-lab/members');
    expect(members.items.map((m: { name: string; email: string }) => [m.name, m.email])).toEqual([
      ['grace', 'grace@example.org'],
    ]);
    // The mapping made grace a viewer there: the UI's session reads, but may not write.
    const attempt = await b.page.evaluate(async () => {
      const { csrfToken } = (await (await fetch('/api/v1/auth/session')).json()) as { csrfToken: string };
      const read = await fetch('/api/v1/runs');
      const write = await fetch('/api/v1/runs', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-simscope-csrf': csrfToken },
        body: JSON.stringify({ name: 'by-a-viewer' }),
      });
      const refusal = (await write.json()) as { error: { message: string } };
      return { read: read.status, write: write.status, message: refusal.error.message };
    });
    expect(attempt).toEqual({
      read: 200,
      write: 403,
      message: "your role in workspace 'cfd-lab' is viewer; this route needs the editor role",
    });
    const workspaces = await admin('GET', '/admin/workspaces');
    expect(workspaces.items.map((w: { name: string }) => w.name).sort()).toEqual(['cfd-lab', 'default']);
    // A second sign-in finds the same user.
    const again = await browser();
    await signInAtProvider(again, 'grace');
    await again.page.getByRole('table', { name: 'Runs' }).waitFor();
    const users = await admin('GET', '/admin/users');
    expect(users.items.filter((u: { name: string }) => u.name.startsWith('grace')).length).toBe(1);
    // The provider's development pages ask for web fonts (refused); Simscope's own pages reach nothing outside.
    expect(b.outside.filter((u) => !u.startsWith('https://fonts.googleapis.com/'))).toEqual([]);
    const mark = b.errors.length;
    await b.page.reload();
    await b.page.getByRole('table', { name: 'Runs' }).waitFor();
    expect(b.errors.slice(mark)).toEqual([]);
  });

  it.each([
    ['state', { state: 'not-the-state-we-sent' }, 'unexpected "state" response parameter value'],
    ['nonce', { nonce: 'another-nonce' }, 'unexpected ID Token "nonce" claim value'],
    ['audience', { aud: 'another-client' }, 'unexpected JWT "aud" (audience) claim value'],
  ])('refuses an answer with a wrong %s', async (_what, tamper, message) => {
    const b = await browser();
    provider.tamper = tamper;
    try {
      const answer = b.page.waitForResponse((r) => r.url().startsWith(`${url}/api/v1/auth/oidc/callback`));
      await signInAtProvider(b, 'alan');
      const res = await answer;
      expect(res.status()).toBe(401);
      expect((await res.json()).error.message).toBe(`single sign-on refused: ${message}`);
    } finally {
      provider.tamper = null;
    }
    const cookies = await b.context.cookies(url);
    expect(cookies.map((c) => c.name)).not.toContain('simscope_session');
  });
});

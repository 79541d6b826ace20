import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, SCREENSHOTS } from './browser.js';
import { buildCli, cleanEnv, runCli } from './cli-process.js';
import { E2E_TOKEN } from './server-process.js';
import { screenshots, startWebServer, type WebServer } from './web-harness.js';

/**
 * `simscope login --url` end to end: the real CLI process asks for a device code and polls while Chromium signs in
 * with a password and approves the code; the CLI then lists runs with the token it saved.
 */
describe('device sign-in from the CLI, approved in the browser', () => {
  let web: WebServer;
  let home: string;

  beforeAll(async () => {
    buildCli();
    home = mkdtempSync(join(tmpdir(), 'simscope-device-cli-'));
    web = await startWebServer('simscope-device-');
    await web.api('POST', '/admin/users', { name: 'ada' });
    await web.api('POST', '/admin/workspaces/default/members', { user: 'ada' });
    const setPassword = await runCli(['admin', 'users', 'set-password', 'ada'], {
      env: cleanEnv({ SIMSCOPE_URL: web.server.url, SIMSCOPE_TOKEN: E2E_TOKEN, HOME: home }),
      cwd: home,
      input: 'analytical engine\n',
    });
    expect(setPassword).toMatchObject({ code: 0, stdout: 'set the password of ada\n', stderr: '' });
    await web.api('POST', '/runs', { name: 'device-flow-run' });
  }, 120_000);
  afterAll(async () => {
    await web?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('saves an approved token and lists runs with it', async () => {
    const env = cleanEnv({ XDG_CONFIG_HOME: join(home, 'config'), HOME: home });
    let link: (url: string) => void = () => {};
    const linkShown = new Promise<string>((resolve) => {
      link = resolve;
    });
    let printed = '';
    const login = runCli(['login', '--url', web.server.url, '--scope', 'read'], {
      env,
      cwd: home,
      timeoutMs: 90_000,
      onStdout: (chunk) => {
        printed += chunk;
        const match = /or open (\S+)/.exec(printed);
        if (match?.[1]) link(match[1]);
      },
    });
    const url = await linkShown;
    expect(url).toMatch(
      new RegExp(`^${web.server.url}/device\\?code=[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`),
    );

    const browser = await openBrowser(web.server.url);
    try {
      const page = browser.page;
      page.setDefaultTimeout(20_000);
      await page.goto(url);
      await page.getByLabel('User name').waitFor();
      await screenshots(page, SCREENSHOTS, 'sign-in');
      await page.getByLabel('User name').fill('ada');
      await page.getByLabel('Password', { exact: true }).fill('analytical engine');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Sign in a device' }).waitFor();
      await page.getByText('simscope-cli asks to act as ada').waitFor();
      await screenshots(page, SCREENSHOTS, 'device-approve');
      await page.getByLabel('Token lifetime').selectOption({ label: '30 days' });
      await page.getByRole('button', { name: 'Approve' }).click();
      await expect
        .poll(() => page.getByTestId('device-decision').textContent())
        .toBe('Approved: the device is signed in. You can go back to it now.');
      expect(browser.outside).toEqual([]);
    } finally {
      await browser.close();
    }

    const done = await login;
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    const configFile = join(home, 'config', 'simscope', 'config.toml');
    expect(done.stdout).toContain(
      `Logged in to ${web.server.url} as ada (workspace default; scopes read); saved as profile 'default' in ${configFile}`,
    );
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(configFile, 'utf8')).toMatch(/token = "ssk_[A-Za-z0-9_-]{43}"/);

    const list = await runCli(['runs', 'list', '--format', 'json'], { env, cwd: home });
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((r) => r.name)).toEqual(['device-flow-run']);
    const refused = await runCli(['runs', 'delete', 'device-flow-run', '--yes'], { env, cwd: home });
    expect(refused.code).not.toBe(0);

    // The account page lists the device's token and the browser's session; revoking the token there locks the CLI out.
    const again = await openBrowser(web.server.url);
    try {
      const page = again.page;
      page.setDefaultTimeout(20_000);
      await page.goto(`${web.server.url}/account`);
      await page.getByLabel('User name').fill('ada');
      await page.getByLabel('Password', { exact: true }).fill('analytical engine');
      await page.getByRole('button', { name: 'Log in' }).click();
      const tokens = page.getByRole('table', { name: 'Tokens' });
      await tokens.getByRole('cell', { name: 'device: simscope-cli', exact: true }).waitFor();
      expect(await tokens.getByRole('row').count()).toBe(2);
      const sessions = page.getByRole('table', { name: 'Sessions' });
      expect(await sessions.getByRole('row').count()).toBe(3);
      expect(await sessions.getByText('(this one)').count()).toBe(1);
      expect(await sessions.getByText(/^Chrome \d+ on Linux$/).count()).toBe(2);
      await screenshots(page, SCREENSHOTS, 'account');
      await page.getByRole('button', { name: 'Revoke device: simscope-cli' }).click();
      await tokens.getByText(/^revoked /).waitFor();
      const locked = await runCli(['runs', 'list'], { env, cwd: home });
      expect(locked.code).not.toBe(0);
      expect(locked.stderr).toContain('has been revoked');
      await page.getByRole('button', { name: 'Sign out everywhere' }).click();
      await page.getByLabel('User name').waitFor();
      expect(again.errors).toEqual([]);
    } finally {
      await again.close();
    }
  }, 120_000);
});

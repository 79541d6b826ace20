import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, openBrowser } from './browser.js';
import { startWebServer, type WebServer } from './web-harness.js';

/**
 * A page of another origin on the same host (so the same site: SameSite=Lax still sends the cookie) makes a signed-in
 * browser post to Simscope; without the session's CSRF token the write is refused and nothing is created.
 */
describe('cross-site writes with the session cookie', () => {
  let web: WebServer;
  let evil: http.Server;
  let evilUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    web = await startWebServer('simscope-csrf-');
    await web.api('POST', '/admin/users', { name: 'mallory-target' });
    await web.api('POST', '/admin/workspaces/default/members', { user: 'mallory-target' });
    await web.api('PUT', '/admin/users/mallory-target/password', { password: 'a long enough password' });
    const target = `${web.server.url}/api/v1/runs`;
    evil = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      const attack =
        req.url === '/form'
          ? `<form id="f" method="POST" action="${target}" enctype="text/plain">
               <input name='{"name":"csrf-form","x":"' value='"}'></form>
             <script>document.getElementById('f').submit()</script>`
          : `<script>fetch(${JSON.stringify(target)}, { method: 'POST', credentials: 'include', mode: 'no-cors',
               headers: { 'content-type': 'text/plain' }, body: '{"name":"csrf-fetch"}' })</script>`;
      res.end(`<!doctype html><title>evil</title>${attack}`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
    browser = await openBrowser('http://127.0.0.1:');
    browser.page.setDefaultTimeout(20_000);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => evil?.close(resolve));
    await web?.stop();
  });

  it('refuses the form post and the fetch, and creates no run', async () => {
    const page = browser.page;
    await page.goto(web.server.url);
    await page.getByLabel('User name').fill('mallory-target');
    await page.getByLabel('Password', { exact: true }).fill('a long enough password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    const cookies = await browser.context.cookies(web.server.url);
    expect(cookies.find((c) => c.name === 'simscope_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Lax',
    });

    // The form's navigation shows the answer; the fetch's answer is then withheld from the page by the server's
    // Cross-Origin-Resource-Policy, but the request reached the server with the cookie, and created nothing.
    const posted = (url: string) => url === `${web.server.url}/api/v1/runs`;
    const form = page.waitForResponse((r) => posted(r.url()) && r.request().method() === 'POST');
    await page.goto(`${evilUrl}form`);
    const formAnswer = await form;
    expect('cookie' in (await formAnswer.request().allHeaders())).toBe(true);
    expect(formAnswer.status()).toBe(403);
    expect(await formAnswer.json()).toMatchObject({
      error: { code: 'forbidden', details: { field: 'header.x-simscope-csrf' } },
    });
    const fetched = page.waitForRequest((r) => posted(r.url()) && r.method() === 'POST');
    await page.goto(`${evilUrl}fetch`);
    const request = await fetched;
    expect('cookie' in (await request.allHeaders())).toBe(true);
    await Promise.race([
      page.waitForEvent('requestfailed', (r) => r === request),
      page.waitForEvent('requestfinished', (r) => r === request),
    ]);
    const runs = await web.api('GET', '/runs');
    expect(runs.items.map((r: { name: string }) => r.name)).toEqual([]);
  });
});

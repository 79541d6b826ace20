import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp } from '../../../../test/fixtures.js';

describe('web UI hosting', () => {
  let dir: string;
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let bare: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-web-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(join(dir, 'assets', 'app-1a2b.js'), 'console.log(1)');
    t = await openTestApp('sqlite', { webRoot: dir });
    bare = await openTestApp('sqlite', { webRoot: join(dir, 'missing') });
  });
  afterAll(async () => {
    await t.close();
    await bare.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the files, and index.html for the UI routes, with a strict content policy', async () => {
    const root = await t.app.inject({ method: 'GET', url: '/' });
    expect(root.statusCode).toBe(200);
    expect(root.body).toBe('<!doctype html><title>ui</title>');
    expect(root.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(root.headers['content-security-policy']).toContain("default-src 'self'");
    expect(root.headers['content-security-policy']).toContain("connect-src 'self'");
    const page = await t.app.inject({ method: 'GET', url: '/runs/abc?tab=metrics' });
    expect(page.body).toBe('<!doctype html><title>ui</title>');
    const asset = await t.app.inject({ method: 'GET', url: '/assets/app-1a2b.js' });
    expect(asset.body).toBe('console.log(1)');
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await t.app.inject({ method: 'GET', url: '/assets/nope.js' });
    expect(missing.statusCode).toBe(404);
    const outside = await t.app.inject({ method: 'GET', url: '/..%2f..%2fetc%2fpasswd' });
    expect(outside.body).toBe('<!doctype html><title>ui</title>');
  });

  it('routes UI paths by prefix, not by extension: names with dots get the page, missing assets a 404', async () => {
    for (const url of ['/runs/cavity-re1.5', '/folders/study/v1.2', '/runs/cavity-re1.5?tab=metrics']) {
      const page = await t.app.inject({ method: 'GET', url, headers: { accept: 'text/html,*/*;q=0.8' } });
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['content-type'], url).toBe('text/html; charset=utf-8');
      expect(page.body, url).toBe('<!doctype html><title>ui</title>');
    }
    const bare = await t.app.inject({ method: 'GET', url: '/runs/v2.0' });
    expect(bare.statusCode).toBe(200);
    expect(bare.body).toBe('<!doctype html><title>ui</title>');
    const missing = await t.app.inject({ method: 'GET', url: '/assets/missing.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({
      error: { code: 'not_found', message: 'no route GET /assets/missing.js' },
    });
    const json = await t.app.inject({
      method: 'GET',
      url: '/runs/a.b',
      headers: { accept: 'application/json' },
    });
    expect(json.statusCode).toBe(404);
    expect(json.json().error.code).toBe('not_found');
  });

  it('keeps the API and its 404s as they are', async () => {
    const unknown = await t.app.inject({ method: 'GET', url: '/api/v1/nothing' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: { code: 'not_found', message: 'no route GET /api/v1/nothing' } });
    const docs = await t.app.inject({ method: 'GET', url: '/api/v1/docs' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('/runs/:run/metrics/downsample');
  });

  it('says how to build the UI when it is not built', async () => {
    const root = await bare.app.inject({ method: 'GET', url: '/' });
    expect(root.statusCode).toBe(200);
    expect(root.body).toContain('The web UI is not built: run <code>npm run build</code>');
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { LocalBlobStore } from '../blob/local-blob-store.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET over a real socket, with headers as large as the test likes (fetch and inject cannot show Node's own 431). */
function get(base: string, path: string, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Bytes written as they are onto a fresh connection; resolves with all the server sent before closing. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function expectSecurityHeaders(headers: Record<string, unknown>, what: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    expect(headers[name], `${what}: ${name}`).toBe(value);
  }
  const csp = String(headers['content-security-policy']);
  expect(csp, `${what}: content-security-policy`).toContain("frame-ancestors 'none'");
  expect(csp, `${what}: content-security-policy`).toContain("default-src 'self'");
  expect(csp, `${what}: content-security-policy`).not.toContain('unsafe-eval');
}

describe('answers the HTTP layer gives before any route', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let base: string;
  let port: number;
  let blobDir: string;
  beforeAll(async () => {
    blobDir = mkdtempSync(join(tmpdir(), 'simscope-hardening-blobs-'));
    t = await openTestApp('sqlite', { blobs: new LocalBlobStore(blobDir) });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = Number(new URL(base).port);
  });
  afterAll(async () => {
    await t.close();
    rmSync(blobDir, { recursive: true, force: true });
  });

  it('answers a 100 KB header with 431 header_too_large in the Simscope error shape', async () => {
    const res = await get(base, '/api/v1/version', { 'x-padding': 'a'.repeat(100 * 1024) });
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(JSON.parse(res.body)).toEqual({
      error: {
        code: 'header_too_large',
        message:
          'the request line and headers exceed the server limit of 16384 bytes; send long filters in the body (POST …/search)',
      },
    });
  });

  it('answers a malformed request with 400 bad_request in the Simscope error shape', async () => {
    const answer = await rawExchange(
      port,
      'GET /api/v1/version HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n',
    );
    const [head, body] = answer.split('\r\n\r\n') as [string, string];
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(head).toContain('\r\nContent-Type: application/json; charset=utf-8');
    expect(head).toContain('\r\nX-Content-Type-Options: nosniff');
    expect(JSON.parse(body)).toEqual({
      error: { code: 'bad_request', message: 'malformed HTTP request (HPE_INVALID_HEADER_TOKEN)' },
    });
  });

  it('puts the security headers on every answer: JSON, errors, the docs page and the UI', async () => {
    const answers = {
      version: await t.app.inject({ method: 'GET', url: '/api/v1/version' }),
      unauthorized: await t.app.inject({ method: 'GET', url: '/api/v1/runs' }),
      notFound: await t.app.inject({ method: 'GET', url: '/api/v1/nothing' }),
      badBody: await t.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: { ...t.auth, 'content-type': 'text/plain' },
        payload: 'x',
      }),
      docs: await t.app.inject({ method: 'GET', url: '/api/v1/docs' }),
      openapi: await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' }),
      ui: await t.app.inject({ method: 'GET', url: '/' }),
    };
    expect(Object.fromEntries(Object.entries(answers).map(([k, r]) => [k, r.statusCode]))).toEqual({
      version: 200,
      unauthorized: 401,
      notFound: 404,
      badBody: 415,
      docs: 200,
      openapi: 200,
      ui: 200,
    });
    for (const [what, res] of Object.entries(answers)) expectSecurityHeaders(res.headers, what);
    expect(answers.docs.body).toContain('<h1>Simscope API 0.1.0</h1>');
  });

  it('keeps the sandbox policy of artifact bytes over the app-wide one', async () => {
    const run = await t.app.inject({ method: 'POST', url: '/api/v1/runs', headers: t.auth, payload: {} });
    const id = run.json().id as string;
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/runs/${id}/artifacts?name=page.html&category=output`,
      headers: { ...t.auth, 'content-type': 'text/html' },
      payload: '<script>alert(1)</script>',
    });
    expect(put.statusCode).toBe(201);
    const got = await t.app.inject({
      method: 'GET',
      url: `/api/v1/runs/${id}/artifacts/content?name=page.html`,
      headers: t.auth,
    });
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
    expect(got.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe.each(BACKENDS)('POST …/search on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp(backend);
    for (const [i, name] of ['search-a', 'search-b', 'search-c', 'other-d'].entries()) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: t.auth,
        payload: { name, metadata: { i } },
      });
      expect(res.statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    await t.close();
  });

  const call = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await t.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: t.auth,
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
    return { status: res.statusCode, body: res.json() as Record<string, any> };
  };

  it('lists runs from a filter in the body, page by page, as GET /runs does', async () => {
    const filter = 'name matches "^search-" and metadata.i >= 0';
    const first = await call('POST', '/runs/search', { filter, sort: 'name', limit: 2 });
    expect(first.status).toBe(200);
    expect(first.body.items.map((r: { name: string }) => r.name)).toEqual(['search-a', 'search-b']);
    const viaGet = await call('GET', `/runs?${new URLSearchParams({ filter, sort: 'name', limit: '2' })}`);
    expect(first.body).toEqual(viaGet.body);
    const second = await call('POST', '/runs/search', {
      filter,
      sort: 'name',
      limit: 2,
      next: first.body.next,
    });
    expect(second.body.items.map((r: { name: string }) => r.name)).toEqual(['search-c']);
    expect(second.body.next).toBe(null);
  });

  it('reads the run table from a filter in the body, as GET /run-table does', async () => {
    const filter = 'name matches "^search-"';
    const post = await call('POST', '/run-table/search', {
      filter,
      columns: ['metadata.i'],
      limit: 10,
      metricNames: true,
    });
    expect(post.status).toBe(200);
    expect(post.body.name).toEqual(['search-c', 'search-b', 'search-a']);
    const viaGet = await call(
      'GET',
      `/run-table?${new URLSearchParams({ filter, columns: '["metadata.i"]', limit: '10', metricNames: 'true' })}`,
    );
    expect(post.body).toEqual(viaGet.body);
  });

  it('names the body field it refuses', async () => {
    const res = await call('POST', '/runs/search', { filter: 'name == "x"', limit: '2', colour: 'red' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_field');
    expect(res.body.error.message).toBe('body.limit: Invalid input: expected number, received string');
    const table = await call('POST', '/run-table/search', { columns: 'metadata.i' });
    expect(table.status).toBe(400);
    expect(table.body.error.message).toBe('body.columns: Invalid input: expected array, received string');
  });

  it('documents the search routes', async () => {
    const doc = await call('GET', '/openapi.json');
    expect(Object.keys(doc.body.paths['/runs/search'])).toEqual(['post']);
    expect(Object.keys(doc.body.paths['/run-table/search'])).toEqual(['post']);
    expect(
      doc.body.paths['/runs/search'].post.requestBody.content['application/json'].schema.properties,
    ).toEqual(expect.objectContaining({ filter: expect.any(Object), next: expect.any(Object) }));
  });
});

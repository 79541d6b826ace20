import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Client } from './client.js';

describe('Client', () => {
  let server: Server;
  afterEach(async () => {
    vi.unstubAllEnvs();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('uses a resolved connection as it is, and pages a listing route up to its limit', async () => {
    const seen: string[] = [];
    const pages: Record<string, { items: { id: string }[]; next: string | null }> = {
      '': { items: [{ id: 'a' }, { id: 'b' }], next: 'c1' },
      c1: { items: [{ id: 'c' }, { id: 'd' }], next: 'c2' },
      c2: { items: [{ id: 'e' }], next: null },
    };
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push(`${req.url} ${req.headers['simscope-workspace'] ?? '-'}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(pages[url.searchParams.get('next') ?? '']));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    vi.stubEnv('SIMSCOPE_URL', 'http://127.0.0.1:1');
    vi.stubEnv('SIMSCOPE_WORKSPACE', 'elsewhere');
    const client = new Client({
      connection: { url: `http://127.0.0.1:${port}`, token: 'ssk_x', workspace: undefined },
    });
    const got: { ids: string[]; more: boolean }[] = [];
    for await (const { items, more } of client.pages('listRuns', { limit: 3, pageSize: 2 }))
      got.push({ ids: items.map((r) => r.id), more });
    expect(got).toEqual([
      { ids: ['a', 'b'], more: true },
      { ids: ['c'], more: false },
    ]);
    expect(seen).toEqual(['/api/v1/runs?limit=2 -', '/api/v1/runs?limit=1&next=c1 -']);
  });
});

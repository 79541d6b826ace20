import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, ClientError, type ListProgress, Run, type RunInfo } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport } from '../packages/client/src/http-transport.js';
import { freePort } from '../scripts/postgres-cluster.js';
import { type Fault, FaultProxy } from './fault-proxy.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const RUNS = 10_000;
const BULK = { folder: '/bulk' } as const;
const auth = { authorization: `Bearer ${E2E_TOKEN}`, 'content-type': 'application/json' };
const runsPath = (url: string) => url.split('?')[0] === '/api/v1/runs';

describe('query client against a real server with 10k runs', () => {
  let home: string;
  let port: number;
  let server: ServerProcess;
  let client: Client;
  /** Seeded run ids, newest first: the default order of a listing. */
  let seeded: string[];

  async function seed(): Promise<string[]> {
    const ids: string[] = new Array(RUNS);
    let next = 0;
    const worker = async () => {
      while (next < RUNS) {
        const i = next++;
        const res = await fetch(`${server.url}/api/v1/runs`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({
            name: `bulk-${String(i).padStart(5, '0')}`,
            folder: '/bulk',
            metadata: { i, even: i % 2 === 0, group: `g${i % 7}` },
            tags: i % 5 === 0 ? ['fifth'] : [],
          }),
        });
        if (res.status !== 201) throw new Error(`seeding run ${i}: ${res.status} ${await res.text()}`);
        ids[i] = ((await res.json()) as RunInfo).id;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return ids;
  }

  beforeAll(async () => {
    buildServer();
    home = mkdtempSync(join(tmpdir(), 'simscope-query-e2e-'));
    port = await freePort();
    server = await ServerProcess.start({ home, port });
    await seed();
    client = new Client({ url: server.url, token: E2E_TOKEN });
    // The server's own order (created, then id) is the reference; concurrent seeding interleaves creation times.
    seeded = (await client.runs.listAll(BULK)).items.map((r) => r.id);
  }, 180_000);

  afterAll(async () => {
    if (server?.running) {
      server.kill('SIGKILL');
      await server.waitForExit();
    }
    rmSync(home, { recursive: true, force: true });
  });

  it('lists all 10k runs, pages as asked, with a total that grows as pages arrive', async () => {
    expect(seeded).toHaveLength(RUNS);
    expect(new Set(seeded).size).toBe(RUNS);
    const reports: ListProgress[] = [];
    const all = await client.runs.listAll(BULK, {
      pageSize: 1000,
      onProgress: (p) => reports.push({ ...p }),
    });
    expect(all.items.map((r) => r.id)).toEqual(seeded);
    expect(all).toMatchObject({ complete: true, next: null, pages: 10, error: null });
    expect(reports.map((p) => [p.pages, p.totalPages, p.items, p.done])).toEqual([
      ...Array.from({ length: 9 }, (_, i) => [i + 1, i + 2, (i + 1) * 1000, false]),
      [10, 10, 10_000, false],
      [10, 10, 10_000, true],
    ]);

    const firstThree = await client.runs.listAll(BULK, { pageSize: 1000, maxPages: 3 });
    expect(firstThree).toMatchObject({ complete: false, pages: 3 });
    expect(firstThree.items.map((r) => r.id)).toEqual(seeded.slice(0, 3000));
    expect(typeof firstThree.next).toBe('string');
    const nextThree = await client.runs.listAll(BULK, {
      pageSize: 1000,
      maxPages: 3,
      resumeFrom: firstThree,
    });
    expect(nextThree.items.map((r) => r.id)).toEqual(seeded.slice(0, 6000));
    expect(nextThree).toMatchObject({ complete: false, pages: 6 });

    const fifths = await client.runs.listAll({ ...BULK, tags__contains: 'fifth', metadata__i__lt: 5000 });
    expect(fifths.items).toHaveLength(1000);
    expect(
      fifths.items.every((r) => (r.metadata.i as number) % 5 === 0 && (r.metadata.i as number) < 5000),
    ).toBe(true);
    const regex = await client.runs.listAll({ name__regex: '^bulk-0012[0-9]$', sort: 'name' });
    expect(regex.items.map((r) => r.name)).toEqual(Array.from({ length: 10 }, (_, i) => `bulk-0012${i}`));
  });

  it('turns 10k runs into an Arrow table with the exact row count and column types', async () => {
    const all = await client.runs.listAll(BULK);
    const table = await all.toArrow();
    expect(table.numRows).toBe(RUNS);
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'id:Utf8',
      'name:Utf8',
      'folder:Utf8',
      'user:Utf8',
      'description:Utf8',
      'status:Dictionary<Int32, Utf8>',
      'tags:List<Utf8>',
      'created:Timestamp<MICROSECOND, UTC>',
      'started:Timestamp<MICROSECOND, UTC>',
      'ended:Timestamp<MICROSECOND, UTC>',
      'heartbeat:Timestamp<MICROSECOND, UTC>',
      'heartbeatTimeout:Float64',
      'abortRequested:Bool',
      'metadata.i:Float64',
      'metadata.even:Bool',
      'metadata.group:Utf8',
    ]);
    const ids = table.getChild('id')!.toArray() as string[];
    expect(ids).toEqual(seeded);
    const i = table.getChild('metadata.i')!.toArray() as Float64Array;
    expect(i.reduce((a, b) => a + b, 0)).toBe((RUNS * (RUNS - 1)) / 2);
    expect(table.getChild('created')!.data.reduce((n, d) => n + d.length, 0)).toBe(RUNS);
    expect(table.getChild('created')!.data[0]!.values[0]).toBe(BigInt(all.items[0]!.created));
    expect(table.getChild('ended')!.nullCount).toBe(RUNS);
  });

  it('retries 503, 429, 502, 504 and dropped connections through a fault proxy, honouring Retry-After', async () => {
    const faults: Record<number, Fault> = {
      1: { kind: 'status', status: 503, retryAfter: '0' },
      2: { kind: 'status', status: 429, retryAfter: '1' },
      4: { kind: 'drop' },
      6: { kind: 'status', status: 502 },
      7: { kind: 'status', status: 504 },
    };
    const proxy = await FaultProxy.start(server.url, { plan: ({ n }) => faults[n] ?? { kind: 'forward' } });
    try {
      const viaProxy = new Client({
        url: proxy.url,
        token: E2E_TOKEN,
        retries: { total: 3, backoffFactor: 0.01 },
      });
      const started = Date.now();
      const all = await viaProxy.runs.listAll(BULK, { pageSize: 1000 });
      const elapsed = Date.now() - started;
      expect(all.items.map((r) => r.id)).toEqual(seeded);
      expect(proxy.requests.map((r) => r.fault)).toEqual([
        'forward',
        'status',
        'status',
        'forward',
        'drop',
        'forward',
        'status',
        'status',
        ...Array.from({ length: 7 }, () => 'forward'),
      ]);
      expect(elapsed).toBeGreaterThanOrEqual(1000);
    } finally {
      await proxy.close();
    }
  });

  it('follows each call its own retry settings, and gives up after total retries', async () => {
    const proxy = await FaultProxy.start(server.url, {
      plan: ({ n }) =>
        n === 0
          ? { kind: 'status', status: 429, retryAfter: '0' }
          : { kind: 'status', status: 503, retryAfter: '0' },
    });
    try {
      const viaProxy = new Client({ url: proxy.url, token: E2E_TOKEN });
      const no429 = await viaProxy.runs.list(BULK, { retries: { statusForcelist: [503] } }).catch((e) => e);
      expect(no429).toBeInstanceOf(ClientError);
      expect(no429.status).toBe(429);
      expect(proxy.requests).toHaveLength(1);
      const exhausted = await viaProxy.runs.list(BULK, { retries: { total: 2 } }).catch((e) => e);
      expect(exhausted).toMatchObject({ status: 503, code: 'unavailable' });
      expect(proxy.requests).toHaveLength(4);
    } finally {
      await proxy.close();
    }
  });

  it('keeps what it fetched on an error, and resumes without fetching it again', async () => {
    const proxy = await FaultProxy.start(server.url, {
      plan: ({ n }) => (n >= 4 ? { kind: 'status', status: 503, retryAfter: '0' } : { kind: 'forward' }),
    });
    try {
      const viaProxy = new Client({ url: proxy.url, token: E2E_TOKEN });
      const partial = await viaProxy.runs.listAll(BULK, {
        pageSize: 1000,
        keepFailed: true,
        retries: { total: 1, backoffFactor: 0 },
      });
      expect(partial.items.map((r) => r.id)).toEqual(seeded.slice(0, 4000));
      expect(partial).toMatchObject({ complete: false, pages: 4 });
      expect(partial.error).toMatchObject({ status: 503, code: 'unavailable' });
      expect(JSON.parse(JSON.stringify(partial)).error).toMatchObject({ status: 503, code: 'unavailable' });
      const reports: number[] = [];
      const done = await client.runs.listAll(BULK, {
        pageSize: 1000,
        resumeFrom: partial,
        onProgress: (p) => reports.push(p.pages),
      });
      expect(done.items.map((r) => r.id)).toEqual(seeded);
      expect(done).toMatchObject({ complete: true, pages: 10, error: null });
      expect(reports).toEqual([5, 6, 7, 8, 9, 10, 10]);
    } finally {
      await proxy.close();
    }
  });

  it('retries a POST only when it carries an idempotency key, and then makes one run', async () => {
    const proxy = await FaultProxy.start(server.url, {
      plan: ({ method, n }) =>
        method !== 'POST'
          ? { kind: 'forward' }
          : n === 0
            ? { kind: 'status', status: 503, retryAfter: '0' }
            : n === 1
              ? { kind: 'lose-answer' }
              : { kind: 'forward' },
    });
    try {
      const transport = new HttpTransport({
        url: proxy.url,
        token: E2E_TOKEN,
        retries: { total: 3, backoffFactor: 0 },
      });
      const refused = await transport
        .request('POST', '/folders', { json: { path: '/no-key' } })
        .catch((e) => e);
      expect(refused).toMatchObject({ status: 503 });
      expect(proxy.count('POST', '/api/v1/folders')).toBe(1);

      const run = await new Run()
        .config({
          url: proxy.url,
          token: E2E_TOKEN,
          systemInfo: false,
          suppressErrors: false,
          retries: { total: 3, backoffFactor: 0.01 },
          onError: () => {},
        })
        .init({ name: 'once-through-proxy', folder: '/proxy' });
      expect(run.id).toMatch(/^[\w-]{16}$/);
      expect(proxy.count('POST', '/api/v1/runs')).toBe(2);
      const found = await client.runs.listAll({ name: 'once-through-proxy' });
      expect(found.items.map((r) => r.id)).toEqual([run.id]);
      await run.close();
    } finally {
      await proxy.close();
    }
  });

  it('gives no duplicate and no gap when runs are inserted during a 10k listing', async () => {
    let inserted = 0;
    const insertedIds: string[] = [];
    const proxy = await FaultProxy.start(server.url, {
      before: async ({ method, url }) => {
        if (method !== 'GET' || !runsPath(url) || !url.includes('next=')) return;
        for (let k = 0; k < 5; k++) {
          const res = await fetch(`${server.url}/api/v1/runs`, {
            method: 'POST',
            headers: auth,
            body: JSON.stringify({ name: `during-${inserted++}`, folder: '/bulk' }),
          });
          insertedIds.push(((await res.json()) as RunInfo).id);
        }
      },
    });
    try {
      const viaProxy = new Client({ url: proxy.url, token: E2E_TOKEN });
      const newest = await viaProxy.runs.listAll(BULK, { pageSize: 500 });
      const ids = newest.items.map((r) => r.id);
      expect(ids).toEqual(seeded);
      expect(inserted).toBe(95);

      const oldest = await viaProxy.runs.listAll({ ...BULK, sort: 'created' }, { pageSize: 500 });
      const asc = oldest.items.map((r) => r.id);
      expect(new Set(asc).size).toBe(asc.length);
      const extra = asc.filter((id) => !seeded.includes(id));
      expect(asc.filter((id) => seeded.includes(id))).toEqual(
        [...seeded].reverse().filter((id) => asc.includes(id)),
      );
      expect(seeded.every((id) => asc.includes(id))).toBe(true);
      // Runs made while the listing went on come after the ones it started with, each exactly once.
      expect(extra).toEqual(insertedIds.filter((id) => extra.includes(id)));
      expect(extra.length).toBeGreaterThanOrEqual(95);
      expect(asc.slice(0, RUNS)).toEqual([...seeded].reverse());
    } finally {
      await proxy.close();
    }
    const during = await client.runs.listAll({ name__startswith: 'during-' });
    await Promise.all(
      during.items.map((r) =>
        fetch(`${server.url}/api/v1/runs/${r.id}`, { method: 'DELETE', headers: auth }),
      ),
    );
    expect((await client.runs.listAll(BULK)).items).toHaveLength(RUNS);
  });

  it('resumes a listing after the server is killed mid-way and restarted, from another client', async () => {
    let killedAt = 0;
    const partial = await client.runs.listAll(BULK, {
      pageSize: 500,
      keepFailed: true,
      retries: { total: 1, backoffFactor: 0.05 },
      onProgress: (p) => {
        if (p.pages === 6 && !killedAt) {
          killedAt = p.pages;
          server.kill('SIGKILL');
        }
      },
    });
    expect(killedAt).toBe(6);
    expect(partial.error).toBeInstanceOf(ClientError);
    expect(partial.error!.code).toBe('unavailable');
    expect(partial.complete).toBe(false);
    expect(partial.pages).toBeGreaterThanOrEqual(6);
    expect(partial.items.map((r) => r.id)).toEqual(seeded.slice(0, partial.pages * 500));
    expect((await server.waitForExit()).signal).toBe('SIGKILL');

    server = await ServerProcess.start({ home, port });
    const saved = JSON.parse(JSON.stringify(partial));
    const other = new Client({ url: server.url, token: E2E_TOKEN });
    const reports: number[] = [];
    const done = await other.runs.listAll(BULK, {
      pageSize: 500,
      resumeFrom: saved,
      onProgress: (p) => reports.push(p.pages),
    });
    expect(done.items.map((r) => r.id)).toEqual(seeded);
    expect(done).toMatchObject({ complete: true, pages: 20, error: null });
    expect(reports[0]).toBe(partial.pages + 1);
    expect(reports).toHaveLength(20 - partial.pages + 1);
  });
});

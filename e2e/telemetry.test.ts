import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TelemetryRecordView, TelemetryUsageView } from '@simscope/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Telemetry } from '../packages/telemetry/src/index.js';
import { createCatalogLibrary, REGISTRY } from '../packages/telemetry/test/catalog-library.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const CALLS = 100_000;
const admin = { authorization: `Bearer ${E2E_TOKEN}`, 'content-type': 'application/json' };

describe('telemetry from a library to a real server process', () => {
  let home: string;
  let server: ServerProcess;
  let keys: { search: string; open: string };

  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${server.url}/api/v1${path}`, { ...init, headers: admin });
    const body = await res.json();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    return body as T;
  };
  const newKey = async (service: string) =>
    (
      await api<{ key: string }>('/admin/telemetry/keys', {
        method: 'POST',
        body: JSON.stringify({ service, name: 'lib' }),
      })
    ).key;
  const allRecords = async (service: string) => {
    const out: TelemetryRecordView[] = [];
    let next: string | null = null;
    do {
      const query = new URLSearchParams({ service, limit: '1000', ...(next ? { next } : {}) });
      const page: { items: TelemetryRecordView[]; next: string | null } = await api(
        `/telemetry/records?${query}`,
      );
      out.push(...page.items);
      next = page.next;
    } while (next);
    return out;
  };
  const library = () => {
    const telemetry = new Telemetry({
      env: {},
      cwd: home,
      configFile: join(home, 'none.toml'),
      exitHooks: false,
      registry: REGISTRY,
    });
    telemetry.setDestination('catalog_search', { url: server.url, key: keys.search });
    telemetry.setDestination('catalog_open', { url: server.url, key: keys.open });
    return { telemetry, ...createCatalogLibrary(telemetry) };
  };

  beforeAll(async () => {
    buildServer();
    home = mkdtempSync(join(tmpdir(), 'simscope-e2e-telemetry-'));
    server = await ServerProcess.start({ home });
    keys = { search: await newKey('catalog/search'), open: await newKey('catalog/open') };
  }, 120_000);
  afterAll(async () => {
    if (server.running) {
      server.kill('SIGKILL');
      await server.waitForExit();
    }
    rmSync(home, { recursive: true, force: true });
  });

  it('stores every one of 100k calls exactly once', async () => {
    const { telemetry, search, Catalog } = library();
    const catalog = new Catalog('cmip6');
    for (let i = 0; i < 60_000; i++) search(`q${i}`, { limit: i });
    for (let i = 0; i < CALLS - 60_000; i++) catalog.search(`m${i}`);
    expect(await telemetry.flush(60_000)).toEqual({ pending: 0, sent: CALLS, dropped: 0, failed: 0 });

    const records = await allRecords('catalog/search');
    expect(records).toHaveLength(CALLS);
    const calls = new Set(records.map((r) => `${r.function}(${r.args[0]})`));
    expect(calls.size).toBe(CALLS);
    expect(calls.has('search(q59999)')).toBe(true);
    expect(calls.has('Catalog.search(m39999)')).toBe(true);
    expect(records.find((r) => r.args[0] === 'q123')?.kwargs).toEqual({ limit: 123 });

    const usage = await api<TelemetryUsageView>('/telemetry/usage?service=catalog/search&bucket=1d');
    expect(usage.functions.map((f) => [f.function, f.total])).toEqual([
      ['search', 60_000],
      ['Catalog.search', 40_000],
    ]);
    await telemetry.close();
  }, 120_000);

  it('leaves the caller unaffected while the server is down, then delivers every call once', async () => {
    const port = Number(new URL(server.url).port);
    server.kill('SIGKILL');
    await server.waitForExit();
    const { telemetry, search } = library();
    const errors: unknown[] = [];
    let sum = 0;
    const started = performance.now();
    for (let i = 0; i < CALLS; i++) {
      try {
        sum += search(`down${i}`).length;
      } catch (error) {
        errors.push(error);
      }
      // Let the sender fail in the background between calls, as it would in a running program.
      if (i % 5000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const elapsed = performance.now() - started;
    expect(errors).toEqual([]);
    expect(sum).toBe(CALLS);
    expect(elapsed).toBeLessThan(5000);
    expect(telemetry.stats()).toMatchObject({ pending: CALLS, sent: 0, dropped: 0, failed: 0 });

    server = await ServerProcess.start({ home, port });
    expect(await telemetry.flush(90_000)).toEqual({ pending: 0, sent: CALLS, dropped: 0, failed: 0 });
    const down = (await allRecords('catalog/search')).filter((r) => String(r.args[0]).startsWith('down'));
    expect(down).toHaveLength(CALLS);
    expect(new Set(down.map((r) => r.args[0])).size).toBe(CALLS);
    await telemetry.close();
  }, 180_000);
});

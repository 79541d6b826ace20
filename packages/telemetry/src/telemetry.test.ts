import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogLibrary, REGISTRY } from '../test/catalog-library.js';
import {
  startCountingServer,
  startLossyProxy,
  startTelemetryServer,
  type TelemetryServer,
} from '../test/telemetry-server.js';
import type { TelemetryError } from './errors.js';
import { sessionId } from './session.js';
import { Telemetry, type TelemetryConfig, track, tracked } from './telemetry.js';

describe('Telemetry against a real server', () => {
  let server: TelemetryServer;
  let keys: { search: string; open: string };
  let home: string;
  const open: Telemetry[] = [];

  beforeAll(async () => {
    server = await startTelemetryServer();
    keys = { search: await server.key('catalog/search'), open: await server.key('catalog/open') };
    home = mkdtempSync(join(tmpdir(), 'simscope-telemetry-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close(0);
  });

  /** A telemetry instance isolated from this machine's environment and config files. */
  const make = (config: TelemetryConfig = {}) => {
    const t = new Telemetry({
      env: {},
      cwd: home,
      configFile: join(home, 'none.toml'),
      flushIntervalMs: 20,
      exitHooks: false,
      ...config,
    });
    open.push(t);
    return t;
  };
  const withCatalog = (config: TelemetryConfig = {}, url = server.url) => {
    const telemetry = make({ registry: REGISTRY, ...config });
    telemetry.setDestination('catalog_search', { url, key: keys.search });
    telemetry.setDestination('catalog/open', { url, key: keys.open });
    return { telemetry, ...createCatalogLibrary(telemetry) };
  };
  const since = async (service: string, from: number) =>
    (await server.records(service)).filter((r) => r.timestamp >= from);

  it('records calls of tracked functions and decorated methods, with args, kwargs, session and extra fields', async () => {
    const { telemetry, search, Catalog } = withCatalog();
    telemetry.addExtraField('catalog_search', { catalog_version: '2.1', owner: { team: 'data' } });
    const from = Date.now() * 1000;
    expect(search('tas', { variable: 'tas' })).toEqual(['tas:tas']);
    const catalog = new Catalog('cmip6');
    expect(catalog.search('pr', { limit: 3 })).toBe('cmip6/pr/3');
    expect(Catalog.version()).toBe('1.0');
    expect(await catalog.open('/data/x.nc')).toBe(10);
    expect(() => catalog.fail('broken')).toThrow('broken');
    const to = Date.now() * 1000;
    expect(await telemetry.flush(10_000)).toEqual({ pending: 0, sent: 5, dropped: 0, failed: 0 });

    const searches = await since('catalog/search', from);
    for (const r of searches) {
      expect(r.timestamp).toBeGreaterThanOrEqual(from - 1000);
      expect(r.timestamp).toBeLessThanOrEqual(to);
    }
    const name = userInfo().username;
    const common = { session_id: sessionId(), name, catalog_version: '2.1', owner: { team: 'data' } };
    expect(searches.map(({ id, timestamp, ...rest }) => rest)).toEqual([
      { function: 'search', args: ['tas'], kwargs: { variable: 'tas' }, ...common },
      { function: 'Catalog.search', args: ['pr'], kwargs: { limit: 3 }, ...common },
      { function: 'Catalog.version', args: [], kwargs: {}, ...common },
      { function: 'Catalog.fail', args: ['broken'], kwargs: {}, ...common },
    ]);
    const opens = await since('catalog/open', from);
    expect(opens.map(({ id, timestamp, ...rest }) => rest)).toEqual([
      {
        function: 'Catalog.open',
        args: ['/data/x.nc'],
        kwargs: {},
        session_id: sessionId(),
        name,
        reader: 'netcdf',
      },
    ]);
    expect(sessionId()).toMatch(/^[0-9a-f]{64}$/);
    expect(telemetry.sessionId).toBe(sessionId());
    expect(make().sessionId).toBe(sessionId());
  });

  it('pops fields, names the user when asked, redacts arguments, and follows the registry', async () => {
    const redacted: string[] = [];
    const { telemetry, search, Catalog } = withCatalog({
      userName: 'ada',
      redact: (call) => {
        redacted.push(call.function);
        if (call.args[0] === 'secret') return null;
        return {
          args: call.args,
          kwargs: { ...call.kwargs, ...(call.kwargs.token ? { token: '***' } : {}) },
        };
      },
    });
    telemetry.popFields('catalog_search', ['session_id']);
    const from = Date.now() * 1000;
    search('a', { token: 'abc' } as never);
    search('secret');
    telemetry.deregister('catalog_search', 'search');
    search('not recorded');
    new Catalog('c').search('still recorded');
    telemetry.register('catalog_search', 'search');
    search('b');
    expect(await telemetry.flush(10_000)).toMatchObject({ pending: 0, sent: 3, failed: 0 });
    const records = await since('catalog/search', from);
    expect(records.map(({ id, timestamp, ...rest }) => rest)).toEqual([
      { function: 'search', args: ['a'], kwargs: { token: '***' }, name: 'ada' },
      { function: 'Catalog.search', args: ['still recorded'], kwargs: {}, name: 'ada' },
      { function: 'search', args: ['b'], kwargs: {}, name: 'ada' },
    ]);
    for (const r of records) expect(Object.keys(r)).not.toContain('session_id');
    expect(redacted).toEqual(['search', 'search', 'Catalog.search', 'search']);
    telemetry.addExtraField('catalog_search', { session_id_source: 'cli' });
    expect(telemetry.extraFields('catalog_search')).toEqual({ session_id_source: 'cli' });
    expect(() => telemetry.addExtraField('catalog_search', { function: 'x' })).toThrow(
      "fields.function: 'function' is a field of every record, not an extra field; use popFields to leave it out",
    );
    expect(() => telemetry.popFields('catalog_search', ['function'])).toThrow(
      'names: cannot remove "function" from records',
    );
  });

  it('keeps big or odd arguments small', async () => {
    const telemetry = make();
    const send = telemetry.track('catalog/search', function load(..._args: unknown[]) {}, {
      namedOptions: false,
    });
    telemetry.setDestination('catalog/search', { url: server.url, key: keys.search });
    class Grid {}
    const from = Date.now() * 1000;
    send(
      new Float64Array(1_000_000),
      'x'.repeat(1000),
      new Grid(),
      [1, [2, [3, [4]]]],
      { a: 1n },
      () => 1,
      NaN,
    );
    await telemetry.flush(10_000);
    const [record] = await since('catalog/search', from);
    expect(record!.args).toEqual([
      '<Float64Array(1000000)>',
      `${'x'.repeat(200)}…`,
      '<Grid>',
      [1, [2, [3, '<Array(1)>']]],
      { a: '1' },
      '<function anonymous>',
      'NaN',
    ]);
    expect(record!.kwargs).toEqual({});
  });

  it('sends nothing at all when telemetry is off', async () => {
    const counting = await startCountingServer();
    try {
      for (const config of [
        { env: { DO_NOT_TRACK: '1' } },
        { env: { SIMSCOPE_TELEMETRY: '0' } },
        { enabled: false },
      ]) {
        const telemetry = make(config);
        expect(telemetry.enabled).toBe(false);
        const fn = function work(x: number) {
          return x + 1;
        };
        const wrapped = track('svc', fn, { telemetry });
        expect(wrapped).toBe(fn);
        telemetry.setDestination('svc', { url: counting.url, key: 'stk_x' });
        for (let i = 0; i < 1000; i++) wrapped(i);
        expect(telemetry.functions('svc')).toEqual(['work']);
        expect(await telemetry.flush(200)).toEqual({ pending: 0, sent: 0, dropped: 0, failed: 0 });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(counting.requests()).toBe(0);
    } finally {
      await counting.close();
    }
  });

  it('leaves the caller alone while the server is down, and delivers once it is back', async () => {
    const errors: TelemetryError[] = [];
    const { telemetry, search } = withCatalog({ onError: (e) => errors.push(e) });
    const from = Date.now() * 1000;
    await server.stop();
    try {
      for (let i = 0; i < 1000; i++) expect(search(`q${i}`)).toEqual([`q${i}:*`]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(telemetry.stats()).toEqual({ pending: 1000, sent: 0, dropped: 0, failed: 0 });
      expect(errors.map((e) => [e.code, e.message.replace(/\(.*\)/, '(…)')])).toEqual([
        [
          'unavailable',
          `service 'catalog/search': cannot reach ${server.url}/api/v1/telemetry/catalog/search (…)`,
        ],
      ]);
    } finally {
      await server.restart();
    }
    expect(await telemetry.flush(20_000)).toEqual({ pending: 0, sent: 1000, dropped: 0, failed: 0 });
    const records = await since('catalog/search', from);
    expect(records.map((r) => r.args[0]).sort()).toEqual(
      Array.from({ length: 1000 }, (_, i) => `q${i}`).sort(),
    );
  });

  it('bounds its queue, dropping and counting what does not fit', async () => {
    const { telemetry, search } = withCatalog({ queueSize: 100 }, 'http://127.0.0.1:9');
    for (let i = 0; i < 1000; i++) search(`q${i}`);
    expect(telemetry.stats()).toEqual({ pending: 100, sent: 0, dropped: 900, failed: 0 });
    expect(await telemetry.close(50)).toEqual({ pending: 0, sent: 0, dropped: 900, failed: 100 });
    search('after close');
    expect(telemetry.stats().dropped).toBe(901);
  });

  it('stores each record once when answers are lost and batches are sent again', async () => {
    const proxy = await startLossyProxy(server.url, 2);
    try {
      const { telemetry, search } = withCatalog({ batchSize: 100 }, proxy.url);
      const from = Date.now() * 1000;
      for (let i = 0; i < 500; i++) search(`r${i}`);
      expect(await telemetry.flush(20_000)).toEqual({ pending: 0, sent: 500, dropped: 0, failed: 0 });
      expect(proxy.forwarded()).toBe(7);
      const records = await since('catalog/search', from);
      expect(records).toHaveLength(500);
      expect(new Set(records.map((r) => r.args[0])).size).toBe(500);
    } finally {
      await proxy.close();
    }
  });

  it('counts records the server refuses, and reports the reason once', async () => {
    const errors: TelemetryError[] = [];
    const telemetry = make({ onError: (e) => errors.push(e), batchSize: 10 });
    const f = track('catalog/search', function search() {}, { telemetry });
    telemetry.setDestination('catalog/search', { url: server.url, key: keys.open });
    for (let i = 0; i < 25; i++) f();
    const orphan = track('nowhere', function lost() {}, { telemetry });
    orphan();
    expect(await telemetry.flush(10_000)).toEqual({ pending: 0, sent: 0, dropped: 0, failed: 26 });
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['not_found', "service 'nowhere' has no destination; call setDestination('nowhere', { url, key })"],
      [
        'forbidden',
        "service 'catalog/search': server refused records: telemetry key 'test' may write to service 'catalog/open' only, not 'catalog/search'",
      ],
    ]);
  });

  it('explains what it cannot track', () => {
    const telemetry = make();
    expect(() => track('svc', 5 as never, { telemetry })).toThrow('track: expected a function');
    const anonymous = [() => 1][0]!;
    expect(() => track('svc', anonymous, { telemetry })).toThrow(
      'track: the function has no name; pass { name } in the options',
    );
    expect(() => track('bad service', function f() {}, { telemetry })).toThrow(
      /^service: 'bad service' is not a service endpoint/,
    );
    const decorate = tracked('svc', { telemetry });
    expect(() => decorate({}, 'field', undefined)).toThrow(
      '@tracked is a method decorator for experimentalDecorators; with standard decorators, or on a field, wrap the function with track() instead',
    );
    telemetry.addService('svc');
    expect(() => telemetry.setDestination('svc', { url: 'ftp://x', key: 'k' })).toThrow(
      "destination.url: must be http or https, got 'ftp:'",
    );
  });
});

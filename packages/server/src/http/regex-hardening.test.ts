import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../../../scripts/postgres-cluster.js';
import { ADMIN_TOKEN, BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { bootstrap } from '../bootstrap.js';
import { AlertEngine } from '../services/alert-engine.js';
import { postgresDialect } from '../store/postgres/postgres-dialect.js';
import { PostgresDriver } from '../store/postgres/postgres-driver.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { compileRunFilter } from '../store/run-filter-sql.js';
import { createApp } from './app.js';

const S = 1_000_000;
/** A request or evaluation that answers in less than this did not stall the event loop. */
const BOUND_MS = 1000;

type App = Awaited<ReturnType<typeof openTestApp>>['app'];

function api(app: App, token: string) {
  return async (method: string, url: string, payload?: unknown) => {
    const start = performance.now();
    const res = await app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return {
      status: res.statusCode,
      body: res.body ? JSON.parse(res.body) : undefined,
      ms: performance.now() - start,
    };
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

describe.each(BACKENDS)('user regular expressions on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let admin: ReturnType<typeof api>;
  /** A read-only token: what any workspace member can hold. */
  let reader: ReturnType<typeof api>;
  beforeAll(async () => {
    t = await openTestApp(backend);
    admin = api(t.app, ADMIN_TOKEN);
    await admin('POST', '/admin/users', { name: 'rita' });
    await admin('POST', '/admin/workspaces/default/members', { user: 'rita' });
    const token = (await admin('POST', '/admin/tokens', { user: 'rita', name: 'ro', scopes: ['read'] })).body
      .token as string;
    reader = api(t.app, token);
  });
  afterAll(async () => {
    await t.close();
  });

  const runs = (filter: string) => reader('GET', `/runs?sort=name&filter=${encodeURIComponent(filter)}`);

  it('answers filters that stall a backtracking engine within the bound', async () => {
    for (let i = 0; i < 3; i++) {
      await admin('POST', '/runs', {
        name: `${'a'.repeat(28)}-${i}`,
        folder: '/redos',
        description: 'a'.repeat(27),
      });
    }
    const description = await runs('folder == /redos and description matches "^(.|.)*Z"');
    expect(description.status).toBe(200);
    expect(description.body.items).toEqual([]);
    expect(description.ms).toBeLessThan(BOUND_MS);

    const name = await runs('folder == /redos and name matches "^(a+)+$"');
    expect(name.status).toBe(200);
    expect(name.body.items).toEqual([]);
    expect(name.ms).toBeLessThan(BOUND_MS);

    const matched = await runs('folder == /redos and name matches "^a+-[12]$"');
    expect(matched.body.items.map((r: { name: string }) => r.name)).toEqual([
      `${'a'.repeat(28)}-1`,
      `${'a'.repeat(28)}-2`,
    ]);
  });

  it('answers the metric-list regex that stalls a backtracking engine within the bound', async () => {
    const run = (await admin('POST', '/runs', { name: 'redos-metrics' })).body.id as string;
    const series = ['x', 'y', 'z'].map((s) => ({ name: `${'a'.repeat(28)}.${s}`, values: [1] }));
    expect((await admin('POST', `/runs/${run}/metrics`, { writer: 'w', seq: 0, series })).status).toBe(200);
    const hostile = await reader('GET', `/runs/${run}/metrics?regex=${encodeURIComponent('^(a+)+$')}`);
    expect(hostile.status).toBe(200);
    expect(hostile.body.items).toEqual([]);
    expect(hostile.ms).toBeLessThan(BOUND_MS);
    const plain = await reader('GET', `/runs/${run}/metrics?regex=${encodeURIComponent('a\\.[xz]$')}`);
    expect(plain.body.items.map((s: { name: string }) => s.name)).toEqual([
      `${'a'.repeat(28)}.x`,
      `${'a'.repeat(28)}.z`,
    ]);
  });

  it('refuses what RE2 cannot express with a 400 naming the field, the same on every backend', async () => {
    const run = (await admin('POST', '/runs', { name: 'refused-patterns' })).body.id as string;
    const filter = await runs('name matches "^(a)\\\\1$"');
    expect(filter.status).toBe(400);
    expect(filter.body.error.code).toBe('invalid_filter');
    expect(filter.body.error.message).toBe(
      'invalid regular expression: backreferences such as \\1 are not supported (patterns are RE2 syntax, matched in linear time) (at column 14)',
    );
    const lookahead = await runs('description matches "^(?=(.|.)*Z)"');
    expect(lookahead.status).toBe(400);
    expect(lookahead.body.error.message).toMatch(/^invalid regular expression: lookahead and lookbehind/);

    const regex = await reader('GET', `/runs/${run}/metrics?regex=${encodeURIComponent('(?<=a)b')}`);
    expect(regex.status).toBe(400);
    expect(regex.body.error.code).toBe('invalid_field');
    expect(regex.body.error.message).toMatch(
      /^query\.regex: invalid regular expression: lookahead and lookbehind such as \(\?= or \(\?<! are not supported/,
    );

    const alert = await admin('POST', '/alerts', {
      name: 'backreference',
      source: 'events',
      match: 'regex',
      pattern: '(NaN) \\1',
    });
    expect(alert.status).toBe(400);
    expect(alert.body.error.message).toBe(
      'body.pattern: is not a valid regular expression: backreferences such as \\1 are not supported (patterns are RE2 syntax, matched in linear time)',
    );
  });

  it('evaluates an events alert whose pattern stalls a backtracking engine within the bound', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S;
    t.clock.now = t0;
    const run = (await admin('POST', '/runs', { name: 'redos-events' })).body.id as string;
    const added = await admin('POST', `/runs/${run}/alerts`, {
      name: 'redos',
      source: 'events',
      match: 'regex',
      pattern: '^(.|.)*Z',
      frequency: 1,
      window: 10,
    });
    expect(added.status).toBe(201);
    await admin('POST', `/runs/${run}/events`, {
      writer: 'w',
      seq: 0,
      events: [1, 2, 3].map((i) => ({ message: 'a'.repeat(27), timestamp: t0 + i * 1000 })),
    });
    t.clock.now = t0 + 2 * S;
    const engine = new AlertEngine({ store: t.store, now: () => t.clock.now, graceSeconds: 0 });
    const first = await timed(() => engine.evaluate());
    expect(first.value).toEqual({ pairs: 1, slots: 2, transitions: 0 });
    expect(first.ms).toBeLessThan(BOUND_MS);
    const state = await admin('GET', `/runs/${run}/alerts/redos`);
    expect(state.body.state).toBe('ok');
    expect(state.body.value).toBe(0);
    await admin('PATCH', `/runs/${run}`, { status: 'completed' });
  });

  it('loads a stored alert whose pattern is now refused disabled, lists it with the error and never runs it', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S + 100 * S;
    t.clock.now = t0;
    const run = (await admin('POST', '/runs', { name: 'stored-redos' })).body.id as string;
    const record = (await admin('GET', `/runs/${run}`)).body;
    const workspaceId = (await t.store.identity.getWorkspace('default'))!.id;
    // Stored before patterns were RE2: JavaScript accepts it and backtracks exponentially on it.
    const stored = await t.store.alerts.createAlert({
      id: `legacy${randomBytes(4).toString('hex')}`,
      workspaceId,
      name: 'legacy-lookahead',
      createdAt: t0,
      source: 'events',
      description: null,
      rule: null,
      metric: null,
      threshold: null,
      rangeLow: null,
      rangeHigh: null,
      aggregation: null,
      pattern: '^(?=(.|.)*Z)',
      match: 'regex',
      window: 10,
      frequency: 1,
      notification: [],
      emails: [],
      webhook: null,
      notifyOk: false,
      abortOnCritical: false,
    });
    const runPk = (await t.store.runs.getRun(workspaceId, record.id))!.pk;
    await t.store.alerts.attachAlert(runPk, stored.pk, t0, t0 + S);
    await admin('POST', `/runs/${run}/events`, {
      writer: 'w',
      seq: 0,
      events: [1, 2, 3].map((i) => ({ message: 'a'.repeat(27), timestamp: t0 + i * 1000 })),
    });
    t.clock.now = t0 + 3 * S;

    // A server starting over this database: a fresh engine reads the stored definition.
    const engine = new AlertEngine({ store: t.store, now: () => t.clock.now, graceSeconds: 0 });
    const pass = await timed(() => engine.evaluate());
    expect(pass.ms).toBeLessThan(BOUND_MS);
    expect(pass.value).toEqual({ pairs: 1, slots: 0, transitions: 0 });
    expect(await engine.evaluate()).toEqual({ pairs: 0, slots: 0, transitions: 0 });

    const error =
      'pattern: is not a valid regular expression: lookahead and lookbehind such as (?= or (?<! are not supported (patterns are RE2 syntax, matched in linear time)';
    const one = await reader('GET', '/alerts/legacy-lookahead');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ name: 'legacy-lookahead', enabled: false, error });
    const list = await reader('GET', '/alerts');
    const listed = list.body.items.find((a: { name: string }) => a.name === 'legacy-lookahead');
    expect(listed).toMatchObject({ enabled: false, error, runs: 1 });
    const ok = list.body.items.find((a: { name: string }) => a.name === 'redos');
    expect(ok).toMatchObject({ enabled: true, error: null });
    const attached = await reader('GET', `/runs/${run}/alerts/legacy-lookahead`);
    expect(attached.body).toMatchObject({ state: 'ok', evaluated: null, alert: { enabled: false, error } });

    const again = await admin('POST', `/runs/${run}/alerts`, { alert: 'legacy-lookahead' });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe(
      `alert 'legacy-lookahead' is disabled: ${error}; delete it and define it again`,
    );
  });

  it('refuses absurd relative times in filters with a 400 naming the duration', async () => {
    const res = await runs('created < 999999999999999999999h');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_filter');
    expect(res.body.error.message).toBe(
      "relative time '999999999999999999999h' is too long: at most 36500d (100 years) (at column 11)",
    );
    const fine = await runs('created < 36500d');
    expect(fine.status).toBe(200);
  });
});

describe('PostgreSQL runs a user regular expression under a statement timeout', () => {
  let app: Awaited<ReturnType<typeof createApp>>;
  let store: PostgresStore;
  let name: string;
  let url: string;
  beforeAll(async () => {
    name = `t_${randomBytes(6).toString('hex')}`;
    url = await createDatabase(inject('postgresUrl'), name);
    store = PostgresStore.open(url, {
      poolSize: 2,
      regexTimeoutMs: 20,
    });
    await store.migrate();
    await bootstrap(store, Date.now() * 1000, ADMIN_TOKEN);
    app = await createApp({ store });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    const c = new pg.Client(inject('postgresUrl'));
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });

  it('answers 400 when PostgreSQL takes longer than the timeout on a pattern, and keeps serving', async () => {
    const call = api(app, ADMIN_TOKEN);
    await call('POST', '/runs', { name: 'pg-timeout', description: 'a'.repeat(27) });
    // RE2 takes this one (974 instructions); PostgreSQL spends about 60 ms compiling it, past the 20 ms here.
    const pattern = `((a?){60}){1,4}Z${randomBytes(3).toString('hex')}`;
    const res = await call('GET', `/runs?filter=${encodeURIComponent(`description matches "${pattern}"`)}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_filter');
    expect(res.body.error.message).toBe(
      'a regular expression took longer than 20 ms in PostgreSQL; simplify it or narrow the query with other conditions',
    );
    expect(res.ms).toBeLessThan(BOUND_MS);
    const plain = await call('GET', '/runs');
    expect(plain.status).toBe(200);
    expect(plain.body.items.map((r: { name: string }) => r.name)).toEqual(['pg-timeout']);
  });

  it("bounds a pattern inside a caller's transaction to that statement", async () => {
    const driver = new PostgresDriver(url, { max: 1, regexTimeoutMs: 20 });
    try {
      const slow = `((a?){60}){1,4}Z${randomBytes(3).toString('hex')}`;
      const failed = driver.transaction((tx) =>
        tx.get(`SELECT (${postgresDialect.regex('?')}) AS m`, ['a'.repeat(27), slow]),
      );
      await expect(failed).rejects.toThrow('a regular expression took longer than 20 ms in PostgreSQL');
      const after = await driver.transaction(async (tx) => {
        const matched = await tx.get(`SELECT ${postgresDialect.regex('?')} AS m`, ['abc', '^a']);
        return { matched: matched?.m, timeout: (await tx.get('SHOW statement_timeout'))?.statement_timeout };
      });
      expect(after).toEqual({ matched: true, timeout: '0' });
      expect((await driver.get('SHOW statement_timeout'))?.statement_timeout).toBe('0');
    } finally {
      await driver.close();
    }
  });
});

describe('relative times built without the parser', () => {
  it('are refused past 100 years when the filter becomes SQL', () => {
    const filter = (seconds: number) =>
      compileRunFilter(
        {
          kind: 'compare',
          field: { kind: 'time', name: 'created' },
          op: '<',
          value: { kind: 'duration', seconds },
        },
        postgresDialect,
        1_000_000,
      );
    expect(filter(3600)).toEqual({ sql: 'r.created_at > ?', params: [1_000_000 - 3600 * S] });
    expect(() => filter(3.6e24)).toThrow('created: a relative time is at most 36500d (100 years)');
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyWebhook } from '@simscope/protocol';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../../../scripts/postgres-cluster.js';
import { ADMIN_TOKEN, BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { useNotificationReceivers } from '../../../../test/notification-receivers.js';
import { bootstrap } from '../bootstrap.js';
import { createApp } from '../http/app.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { AlertEngine } from './alert-engine.js';
import { EmailNotifier } from './email-notifier.js';
import { WebhookNotifier } from './webhook-notifier.js';

const SECRET = 'whsec_test_0123456789';
const S = 1_000_000;

const receivers = useNotificationReceivers();
/** The receivers listen on loopback, which webhooks may reach only when an admin allows it. */
const ALLOW_LOOPBACK = ['127.0.0.1/32'];

function engineFor(
  store: Store,
  clock: { now: number },
  options: { retryBaseMs?: number; webhookAllow?: string[] } = {},
) {
  return new AlertEngine({
    store,
    now: () => clock.now,
    graceSeconds: 0,
    retryBaseMs: options.retryBaseMs ?? 1000,
    channels: {
      email: new EmailNotifier(
        {
          host: receivers.mail.host,
          port: receivers.mail.port,
          tls: 'none',
          user: null,
          password: null,
          from: 'alerts@simscope.test',
        },
        'http://simscope.test:5280',
      ),
      webhook: new WebhookNotifier({
        secret: SECRET,
        publicUrl: 'http://simscope.test:5280',
        webhookAllow: options.webhookAllow ?? ALLOW_LOOPBACK,
      }),
    },
  });
}

type Inject = Awaited<ReturnType<typeof openTestApp>>['app']['inject'];

/** Calls the API as `auth` and returns status and JSON. */
function api(inject: Inject, auth: Record<string, string>) {
  return async (method: string, url: string, payload?: unknown) => {
    const res = await inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  };
}

/** A user with an email who owns the runs, so notifications have an owner to write to. */
async function makeOwner(call: ReturnType<typeof api>, inject: Inject) {
  await call('POST', '/admin/users', { name: 'ada', email: 'ada@example.org' });
  await call('POST', '/admin/workspaces/default/members', { user: 'ada' });
  const token = (await call('POST', '/admin/tokens', { user: 'ada', name: 'laptop' })).body.token as string;
  return api(inject, { authorization: `Bearer ${token}` });
}

let seq = 0;
async function logPoints(
  call: ReturnType<typeof api>,
  run: string,
  name: string,
  points: [number, number][],
) {
  const res = await call('POST', `/runs/${run}/metrics`, {
    writer: 'test',
    seq: seq++,
    series: [
      {
        name,
        timestamps: points.map((p) => p[0]),
        values: points.map((p) => (Number.isNaN(p[1]) ? 'NaN' : p[1])),
      },
    ],
  });
  expect(res.status).toBe(200);
}

describe.each(BACKENDS)('alert engine (%s)', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let admin: ReturnType<typeof api>;
  let ada: ReturnType<typeof api>;
  beforeAll(async () => {
    t = await openTestApp(backend, { webhookAllow: ALLOW_LOOPBACK });
    admin = api(t.app.inject.bind(t.app), t.auth);
    ada = await makeOwner(admin, t.app.inject.bind(t.app));
  });
  afterAll(async () => {
    await t.close();
  });

  it('turns a metric alert critical and back, with one email and one webhook call per transition', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S;
    t.clock.now = t0;
    const run = (await ada('POST', '/runs', { name: `loss-${backend}` })).body.id as string;
    const added = await ada('POST', `/runs/${run}/alerts`, {
      name: 'loss high',
      metric: 'loss',
      rule: 'is above',
      threshold: 0.5,
      aggregation: 'average',
      window: 10,
      frequency: 5,
      notification: ['email', 'webhook'],
      emails: ['ops@example.org'],
      webhook: receivers.hooks.url,
      notifyOk: true,
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      state: 'ok',
      since: t0,
      next: t0 + 5 * S,
      evaluated: null,
      value: null,
    });
    const engine = engineFor(t.store, t.clock);

    await logPoints(ada, run, 'loss', [
      [t0 + 1 * S, 0.5],
      [t0 + 2 * S, 0.75],
      [t0 + 3 * S, 1],
      [t0 + 4 * S, 0.75],
    ]);
    t.clock.now = t0 + 4 * S;
    expect(await engine.evaluate()).toEqual({ pairs: 0, slots: 0, transitions: 0 });
    t.clock.now = t0 + 5 * S;
    expect(await engine.evaluate()).toEqual({ pairs: 1, slots: 1, transitions: 1 });
    expect(await engine.evaluate()).toEqual({ pairs: 0, slots: 0, transitions: 0 });
    expect(await engine.deliver()).toEqual({ sent: 2, retried: 0, failed: 0 });
    expect(await engine.deliver()).toEqual({ sent: 0, retried: 0, failed: 0 });

    expect(receivers.mail.messages).toHaveLength(1);
    const email = receivers.mail.messages[0]!;
    expect(email.from).toBe('alerts@simscope.test');
    expect(email.to.sort()).toEqual(['ada@example.org', 'ops@example.org']);
    expect(email.subject).toBe(`[Simscope] CRITICAL: alert 'loss high' on run 'loss-${backend}'`);
    expect(email.text).toContain("average of 'loss' over 10 s is 0.75, above 0.5");
    expect(email.text).toContain(`http://simscope.test:5280/api/v1/runs/${run}`);
    expect(receivers.hooks.requests).toHaveLength(1);
    const hook = receivers.hooks.requests[0]!;
    expect(hook.method).toBe('POST');
    expect(hook.path).toBe('/hooks/simscope');
    expect(hook.headers['content-type']).toBe('application/json');
    expect(
      await verifyWebhook(
        SECRET,
        hook.body,
        hook.headers['simscope-signature'] as string,
        (Date.now() / 1000) | 0,
      ),
    ).toBe(true);
    expect(
      await verifyWebhook(
        'wrong',
        hook.body,
        hook.headers['simscope-signature'] as string,
        (Date.now() / 1000) | 0,
      ),
    ).toBe(false);
    const payload = JSON.parse(hook.body);
    expect(payload).toMatchObject({
      type: 'alert.critical',
      workspace: 'default',
      alert: { name: 'loss high', rule: 'is above', threshold: 0.5, window: 10, frequency: 5 },
      run: { id: run, name: `loss-${backend}`, url: `http://simscope.test:5280/api/v1/runs/${run}` },
      transition: { at: t0 + 5 * S, from: 'ok', to: 'critical', value: 0.75 },
    });
    expect(hook.headers['simscope-delivery']).toBe(payload.delivery);
    expect(email.messageId).toMatch(/^<[\w-]{16}@simscope>$/);
    expect(email.headers['x-simscope-delivery']).toBe(email.messageId.slice(1, 17));

    // Still critical at the next slot: nothing new to say.
    t.clock.now = t0 + 10 * S;
    expect(await engine.evaluate()).toEqual({ pairs: 1, slots: 1, transitions: 0 });
    expect(await engine.deliver()).toEqual({ sent: 0, retried: 0, failed: 0 });

    await logPoints(ada, run, 'loss', [
      [t0 + 11 * S, 0.125],
      [t0 + 12 * S, 0.25],
      [t0 + 13 * S, 0.125],
      [t0 + 14 * S, 0.25],
    ]);
    t.clock.now = t0 + 15 * S;
    expect(await engine.evaluate()).toEqual({ pairs: 1, slots: 1, transitions: 1 });
    expect(await engine.deliver()).toEqual({ sent: 2, retried: 0, failed: 0 });
    t.clock.now = t0 + 20 * S;
    expect(await engine.evaluate()).toEqual({ pairs: 1, slots: 1, transitions: 0 });
    expect(await engine.deliver()).toEqual({ sent: 0, retried: 0, failed: 0 });

    expect(receivers.mail.messages.map((m) => m.subject)).toEqual([
      `[Simscope] CRITICAL: alert 'loss high' on run 'loss-${backend}'`,
      `[Simscope] OK: alert 'loss high' on run 'loss-${backend}'`,
    ]);
    expect(receivers.mail.messages[1]!.text).toContain(
      "average of 'loss' over 10 s is 0.1875, no longer above 0.5",
    );
    expect(receivers.hooks.requests.map((h) => JSON.parse(h.body).type)).toEqual([
      'alert.critical',
      'alert.ok',
    ]);

    const history = await ada('GET', `/runs/${run}/alerts/loss high/history`);
    expect(history.body).toEqual({
      items: [
        {
          at: t0 + 5 * S,
          from: 'ok',
          to: 'critical',
          value: 0.75,
          message: "average of 'loss' over 10 s is 0.75, above 0.5",
        },
        {
          at: t0 + 15 * S,
          from: 'critical',
          to: 'ok',
          value: 0.1875,
          message: "average of 'loss' over 10 s is 0.1875, no longer above 0.5",
        },
      ],
      next: null,
    });
    const state = await ada('GET', `/runs/${run}/alerts/loss high`);
    expect(state.body).toMatchObject({
      state: 'ok',
      since: t0 + 15 * S,
      evaluated: t0 + 20 * S,
      next: t0 + 25 * S,
    });
    expect(state.body.value).toBe(0.1875);
    const listed = await ada('GET', '/alerts');
    expect(listed.body.items.find((a: { name: string }) => a.name === 'loss high')).toMatchObject({
      runs: 1,
      critical: 0,
    });
    await ada('PATCH', `/runs/${run}`, { status: 'completed' });
  });

  it('aggregates a window by sum, at least one and all, and compares ranges', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S + 100 * S;
    t.clock.now = t0;
    const run = (await ada('POST', '/runs', { name: `agg-${backend}` })).body.id as string;
    const base = { metric: 'x', window: 10, frequency: 10 };
    const alerts = {
      'sum above 10': { ...base, rule: 'is above', threshold: 10, aggregation: 'sum' },
      'one below 0': { ...base, rule: 'is below', threshold: 0, aggregation: 'at least one' },
      'all above 1': { ...base, rule: 'is above', threshold: 1, aggregation: 'all' },
      'avg outside 0..2': { ...base, rule: 'is outside range', rangeLow: 0, rangeHigh: 2 },
      'avg inside 2..3': { ...base, rule: 'is inside range', rangeLow: 2, rangeHigh: 3 },
    };
    for (const [name, def] of Object.entries(alerts)) {
      expect((await ada('POST', `/runs/${run}/alerts`, { name: `${name} ${backend}`, ...def })).status).toBe(
        201,
      );
    }
    // 4, -1, 5, 2, NaN: sum 10 (not above 10), one below 0, not all above 1, average 2.5 outside [0, 2], inside [2, 3].
    await logPoints(ada, run, 'x', [
      [t0 + 1 * S, 4],
      [t0 + 2 * S, -1],
      [t0 + 3 * S, 5],
      [t0 + 4 * S, 2],
      [t0 + 5 * S, Number.NaN],
    ]);
    t.clock.now = t0 + 10 * S;
    const engine = engineFor(t.store, t.clock);
    expect(await engine.evaluate()).toMatchObject({ pairs: 5, transitions: 3 });
    const states = (await ada('GET', `/runs/${run}/alerts`)).body.items
      .map((a: { alert: { name: string }; state: string; value: number }) => [a.alert.name, a.state, a.value])
      .sort();
    expect(states).toEqual([
      [`all above 1 ${backend}`, 'ok', 2],
      [`avg inside 2..3 ${backend}`, 'critical', 2.5],
      [`avg outside 0..2 ${backend}`, 'critical', 2.5],
      [`one below 0 ${backend}`, 'critical', 2],
      [`sum above 10 ${backend}`, 'ok', 10],
    ]);
    const critical = await ada('GET', `/runs/${run}/alerts?critical=true`);
    expect(critical.body.items).toHaveLength(3);
    await ada('PATCH', `/runs/${run}`, { status: 'completed' });
  });

  it('fires an event alert on a matching line, by substring and by regular expression', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S + 200 * S;
    t.clock.now = t0;
    const run = (await ada('POST', '/runs', { name: `events-${backend}` })).body.id as string;
    await ada('POST', `/runs/${run}/alerts`, {
      name: `nan ${backend}`,
      source: 'events',
      pattern: 'NaN detected',
      frequency: 2,
      notification: 'webhook',
      webhook: receivers.hooks.url,
    });
    await ada('POST', `/runs/${run}/alerts`, {
      name: `courant ${backend}`,
      source: 'events',
      pattern: 'Courant number (\\d+\\.\\d+) above',
      match: 'regex',
      frequency: 2,
      window: 4,
    });
    const engine = engineFor(t.store, t.clock);
    await ada('POST', `/runs/${run}/events`, {
      writer: 'w',
      seq: 0,
      events: [
        { message: 'mesh loaded', timestamp: t0 + S / 2 },
        { message: 'step 10: nan detected (lower case)', timestamp: t0 + S },
      ],
    });
    t.clock.now = t0 + 2 * S;
    expect(await engine.evaluate()).toMatchObject({ pairs: 2, transitions: 0 });
    await ada('POST', `/runs/${run}/events`, {
      writer: 'w',
      seq: 1,
      events: [
        { level: 'error', message: 'step 42: NaN detected in p', timestamp: t0 + 3 * S },
        { level: 'warning', message: 'Courant number 0.91 above limit', timestamp: t0 + 3 * S },
      ],
    });
    t.clock.now = t0 + 4 * S;
    expect(await engine.evaluate()).toMatchObject({ pairs: 2, transitions: 2 });
    expect(await engine.deliver()).toEqual({ sent: 1, retried: 0, failed: 0 });
    expect(JSON.parse(receivers.hooks.requests[0]!.body).transition).toEqual({
      at: t0 + 4 * S,
      from: 'ok',
      to: 'critical',
      value: 1,
      message: `1 event matched 'NaN detected' in the last 2 s: "step 42: NaN detected in p"`,
    });
    // The NaN line leaves the 2 s window at t0 + 6 s; the Courant line stays in the 4 s window until t0 + 8 s.
    t.clock.now = t0 + 6 * S;
    await engine.evaluate();
    const states = (await ada('GET', `/runs/${run}/alerts`)).body.items
      .map((a: { alert: { name: string }; state: string }) => [a.alert.name, a.state])
      .sort();
    expect(states).toEqual([
      [`courant ${backend}`, 'critical'],
      [`nan ${backend}`, 'ok'],
    ]);
    expect(await engine.deliver()).toEqual({ sent: 0, retried: 0, failed: 0 });
    await ada('PATCH', `/runs/${run}`, { status: 'completed' });
  });

  it('round-trips a user alert, and aborts the run when an abortOnCritical alert turns critical', async () => {
    t.clock.now = Date.now() * 1000;
    const run = (await ada('POST', '/runs', { name: `user-${backend}` })).body.id as string;
    const def = { name: `diverged ${backend}`, source: 'user', abortOnCritical: true, notification: 'email' };
    expect((await ada('POST', `/runs/${run}/alerts`, def)).body).toMatchObject({ state: 'ok', next: null });
    const set = (state: string, message?: string) =>
      ada('PUT', `/runs/${run}/alerts/diverged ${backend}/state`, { state, ...(message ? { message } : {}) });
    expect((await set('critical', 'residual exploded')).body).toMatchObject({
      state: 'critical',
      changed: true,
    });
    expect((await set('critical')).body).toMatchObject({ state: 'critical', changed: false });
    const abort = await ada('GET', `/runs/${run}/abort`);
    expect(abort.body).toEqual({
      requested: true,
      at: t.clock.now,
      reason: `alert 'diverged ${backend}' is critical: residual exploded`,
    });
    t.clock.now += S;
    expect((await set('ok')).body).toMatchObject({ state: 'ok', changed: true, since: t.clock.now });
    const history = (await ada('GET', `/runs/${run}/alerts/diverged ${backend}/history`)).body.items;
    expect(
      history.map((h: { from: string; to: string; message: string }) => [h.from, h.to, h.message]),
    ).toEqual([
      ['ok', 'critical', 'residual exploded'],
      ['critical', 'ok', 'set ok by the run'],
    ]);
    const engine = engineFor(t.store, t.clock);
    expect(await engine.deliver()).toEqual({ sent: 1, retried: 0, failed: 0 });
    expect(receivers.mail.messages.map((m) => [m.to, m.subject])).toEqual([
      [['ada@example.org'], `[Simscope] CRITICAL: alert 'diverged ${backend}' on run 'user-${backend}'`],
    ]);
    expect(receivers.mail.messages[0]!.text).toContain('The run has been asked to abort.');

    // A metrics alert with abortOnCritical asks too, through the engine.
    const t0 = t.clock.now;
    const run2 = (await ada('POST', '/runs', { name: `abort-${backend}` })).body.id as string;
    await ada('POST', `/runs/${run2}/alerts`, {
      name: `temp ${backend}`,
      metric: 'temperature',
      rule: 'is above',
      threshold: 100,
      frequency: 1,
      abortOnCritical: true,
    });
    await logPoints(ada, run2, 'temperature', [[t0 + S / 2, 120]]);
    t.clock.now = t0 + S;
    await engine.evaluate();
    expect((await ada('GET', `/runs/${run2}/abort`)).body).toEqual({
      requested: true,
      at: t0 + S,
      reason: `alert 'temp ${backend}' is critical: average of 'temperature' over 1 s is 120, above 100`,
    });
    expect((await set('ok')).body).toMatchObject({ state: 'ok', changed: false });
    const metricsAlert = await ada('PUT', `/runs/${run2}/alerts/temp ${backend}/state`, { state: 'ok' });
    expect(metricsAlert.status).toBe(409);
    expect(metricsAlert.body.error.code).toBe('invalid_transition');
    await ada('PATCH', `/runs/${run}`, { status: 'completed' });
    await ada('PATCH', `/runs/${run2}`, { status: 'completed' });
  });

  it('retries a webhook that fails with a 5xx, and gives up at once on a 4xx', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S + 300 * S;
    t.clock.now = t0;
    const run = (await ada('POST', '/runs', { name: `retry-${backend}` })).body.id as string;
    for (const name of ['a', 'b']) {
      await ada('POST', `/runs/${run}/alerts`, {
        name: `retry ${name} ${backend}`,
        source: 'user',
        notification: 'webhook',
        webhook: `${receivers.hooks.url}?alert=${name}`,
      });
    }
    const engine = engineFor(t.store, t.clock, { retryBaseMs: 2000 });
    receivers.hooks.statuses = [503];
    await ada('PUT', `/runs/${run}/alerts/retry a ${backend}/state`, { state: 'critical' });
    expect(await engine.deliver()).toEqual({ sent: 0, retried: 1, failed: 0 });
    t.clock.now = t0 + 1 * S;
    expect(await engine.deliver()).toEqual({ sent: 0, retried: 0, failed: 0 });
    t.clock.now = t0 + 2 * S;
    expect(await engine.deliver()).toEqual({ sent: 1, retried: 0, failed: 0 });
    expect(receivers.hooks.requests.map((r) => r.status)).toEqual([503, 200]);
    expect(receivers.hooks.requests[0]!.headers['simscope-delivery']).toBe(
      receivers.hooks.requests[1]!.headers['simscope-delivery'],
    );

    receivers.hooks.statuses = [404];
    await ada('PUT', `/runs/${run}/alerts/retry b ${backend}/state`, { state: 'critical' });
    expect(await engine.deliver()).toEqual({ sent: 0, retried: 0, failed: 1 });
    t.clock.now = t0 + 100 * S;
    expect(await engine.deliver()).toEqual({ sent: 0, retried: 0, failed: 0 });
    expect(receivers.hooks.requests.map((r) => [r.path, r.status])).toEqual([
      ['/hooks/simscope?alert=a', 503],
      ['/hooks/simscope?alert=a', 200],
      ['/hooks/simscope?alert=b', 404],
    ]);
  });

  it('deduplicates definitions and rejects bad ones naming the field', async () => {
    const def = { name: `dedup ${backend}`, metric: 'm', rule: 'is below', threshold: 1 };
    const first = await ada('POST', '/alerts', def);
    expect(first.status).toBe(201);
    const again = await ada('POST', '/alerts', { ...def, aggregation: 'average', frequency: 60, window: 60 });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const other = await ada('POST', '/alerts', { ...def, threshold: 2 });
    expect(other.status).toBe(409);
    expect(other.body.error.message).toContain('body.threshold');
    const run = (await ada('POST', '/runs', { name: `dedup-${backend}` })).body.id as string;
    expect((await ada('POST', `/runs/${run}/alerts`, def)).status).toBe(201);
    expect((await ada('POST', `/runs/${run}/alerts`, { alert: `dedup ${backend}` })).status).toBe(200);
    expect((await ada('GET', `/runs/${run}/alerts`)).body.items).toHaveLength(1);

    const bad: [object, string][] = [
      [{ name: 'x', rule: 'is above', threshold: 1 }, 'body.metric: is required for a metrics alert'],
      [{ name: 'x', metric: 'm', rule: 'is above' }, "body.threshold: is required with rule 'is above'"],
      [
        { name: 'x', metric: 'm', rule: 'is inside range', rangeLow: 2, rangeHigh: 1 },
        'body.rangeHigh: must be greater than rangeLow',
      ],
      [
        { name: 'x', metric: 'm', rule: 'is above', threshold: 1, rangeLow: 0 },
        "body.rangeLow: is for range rules, not 'is above'",
      ],
      [{ name: 'x', metric: 'm', rule: 'rises', threshold: 1 }, 'body.rule:'],
      [
        { name: 'x', source: 'events', pattern: '(', match: 'regex' },
        'body.pattern: is not a valid regular expression',
      ],
      [
        { name: 'x', source: 'user', notification: 'webhook' },
        "body.webhook: is required when notification includes 'webhook'",
      ],
      [
        { name: 'x', source: 'user', webhook: 'ftp://h/x' },
        'body.webhook: must be an http:// or https:// URL',
      ],
      [{ name: 'x', source: 'user', frequency: 5 }, 'body.frequency: is not used by a user alert'],
      [{ name: 'x', metric: 'm', rule: 'is above', threshold: 1, window: -1 }, 'body.window:'],
      [{ name: 'x', source: 'user', emails: ['not-an-address'] }, 'body.emails[0]:'],
    ];
    for (const [body, message] of bad) {
      const res = await ada('POST', '/alerts', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.message).toContain(message);
    }
    const missing = await ada('PUT', `/runs/${run}/alerts/nope/state`, { state: 'critical' });
    expect(missing.status).toBe(404);
    const badState = await ada('PUT', `/runs/${run}/alerts/dedup ${backend}/state`, { state: 'warning' });
    expect(badState.status).toBe(400);
    expect(badState.body.error.message).toContain('body.state');
  });
});

describe.each(BACKENDS)('webhook address policy (%s)', (backend) => {
  const hint = 'an admin can allow it with --webhook-allow';
  type App = Awaited<ReturnType<typeof openTestApp>>;

  /** The failed notification of a run's alert, as the store recorded it. */
  async function notificationsOf(t: App, run: string, alert: string) {
    const workspace = (await t.store.identity.getWorkspace('default'))!;
    const runPk = (await t.store.runs.getRun(workspace.id, run))!.pk;
    const alertPk = (await t.store.alerts.getAlert(workspace.id, alert))!.pk;
    const transitions = await t.store.alerts.listTransitions(runPk, alertPk, { after: null, limit: 10 });
    return Promise.all(transitions.map((tr) => t.store.alerts.listNotifications(tr.pk)));
  }

  it('refuses, when the alert is defined, webhooks to loopback, link-local and private addresses', async () => {
    const t = await openTestApp(backend);
    try {
      const call = api(t.app.inject.bind(t.app), t.auth);
      const port = new URL(receivers.hooks.url).port;
      const run = (await call('POST', '/runs', { name: `ssrf-${backend}` })).body.id as string;
      const refused: [string, string][] = [
        [receivers.hooks.url, '127.0.0.1 is a loopback address'],
        [`http://localhost:${port}/hooks/simscope`, 'localhost is a loopback address'],
        [`http://[::1]:${port}/hooks/simscope`, '::1 is a loopback address'],
        [`http://2130706433:${port}/`, '127.0.0.1 is a loopback address'],
        ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1 is a loopback address'],
        ['http://0.0.0.0/', '0.0.0.0 is an unspecified address'],
        ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is a link-local address'],
        ['http://[fe80::1]/', 'fe80::1 is a link-local address'],
        ['http://10.0.0.5/', '10.0.0.5 is a private address'],
        ['https://172.16.8.1/hook', '172.16.8.1 is a private address'],
        ['http://192.168.1.1:8080/', '192.168.1.1 is a private address'],
        ['http://[fd00::1]/', 'fd00::1 is a private address'],
        ['http://100.64.0.1/', '100.64.0.1 is a carrier-grade NAT address'],
        ['http://224.0.0.1/', '224.0.0.1 is a multicast address'],
        ['http://255.255.255.255/', '255.255.255.255 is a broadcast address'],
        ['http://203.0.113.5/', '203.0.113.5 is a documentation address'],
      ];
      const answers = [];
      for (const [i, [webhook]] of refused.entries()) {
        const body = { name: `hook ${i}`, source: 'user', notification: 'webhook', webhook };
        const defined = await call('POST', '/alerts', body);
        const attached = await call('POST', `/runs/${run}/alerts`, body);
        answers.push([webhook, defined.status, defined.body.error?.code, defined.body.error?.message]);
        expect(attached.status, webhook).toBe(400);
        expect(attached.body.error?.message).toBe(defined.body.error?.message);
      }
      expect(answers).toEqual(
        refused.map(([webhook, reason]) => [
          webhook,
          400,
          'invalid_field',
          `body.webhook: ${reason}; ${hint}`,
        ]),
      );
      expect((await call('GET', '/alerts')).body.items).toEqual([]);
      // A name is judged when it is resolved, at delivery: defining one needs no DNS.
      const named = await call('POST', '/alerts', {
        name: 'named',
        source: 'user',
        notification: 'webhook',
        webhook: 'https://hooks.example.org/simscope',
      });
      expect(named.status).toBe(201);
      const engine = new AlertEngine({
        store: t.store,
        channels: { webhook: new WebhookNotifier({ secret: SECRET, publicUrl: null }) },
      });
      expect(await engine.deliver()).toEqual({ sent: 0, retried: 0, failed: 0 });
      expect(receivers.hooks.requests).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('allows only what the admin listed', async () => {
    const t = await openTestApp(backend, { webhookAllow: ['127.0.0.1/32', 'hooks.internal'] });
    try {
      const call = api(t.app.inject.bind(t.app), t.auth);
      const define = (name: string, webhook: string) =>
        call('POST', '/alerts', { name, source: 'user', notification: 'webhook', webhook });
      expect((await define('loopback', receivers.hooks.url)).status).toBe(201);
      expect((await define('internal', 'http://hooks.internal:8080/x')).status).toBe(201);
      const other = await define('other', 'http://127.0.0.2/x');
      expect([other.status, other.body.error?.message]).toEqual([
        400,
        `body.webhook: 127.0.0.2 is a loopback address; ${hint}`,
      ]);
      const privateRange = await define('private', 'http://10.0.0.5/x');
      expect([privateRange.status, privateRange.body.error?.message]).toEqual([
        400,
        `body.webhook: 10.0.0.5 is a private address; ${hint}`,
      ]);
    } finally {
      await t.close();
    }
  });

  it('refuses at delivery, after resolving the name, an address that is not allowed, and never retries it', async () => {
    const port = new URL(receivers.hooks.url).port;
    const byName = `http://localhost:${port}/hooks/simscope`;
    // Defined while the admin allowed loopback (or before the policy existed), delivered after it no longer is.
    const t = await openTestApp(backend, { webhookAllow: ['127.0.0.1/32', 'localhost'] });
    try {
      const call = api(t.app.inject.bind(t.app), t.auth);
      const run = (await call('POST', '/runs', { name: `refused-${backend}` })).body.id as string;
      for (const [name, webhook] of [
        ['by address', receivers.hooks.url],
        ['by name', byName],
      ]) {
        const added = await call('POST', `/runs/${run}/alerts`, {
          name: name!,
          source: 'user',
          notification: 'webhook',
          webhook: webhook!,
        });
        expect(added.status).toBe(201);
        await call('PUT', `/runs/${run}/alerts/${name}/state`, { state: 'critical' });
      }
      const strict = engineFor(t.store, t.clock, { webhookAllow: [] });
      expect(await strict.deliver()).toEqual({ sent: 0, retried: 0, failed: 2 });
      t.clock.now += 3600 * S;
      expect(await strict.deliver()).toEqual({ sent: 0, retried: 0, failed: 0 });
      expect(receivers.hooks.requests).toEqual([]);
      expect(await notificationsOf(t, run, 'by address')).toEqual([
        [
          {
            id: expect.any(String),
            channel: 'webhook',
            status: 'failed',
            attempts: 1,
            error: `POST ${receivers.hooks.url}: not sent: 127.0.0.1 is a loopback address; ${hint}`,
          },
        ],
      ]);
      const named = (await notificationsOf(t, run, 'by name')).flat();
      expect(named.map((n) => [n.status, n.attempts])).toEqual([['failed', 1]]);
      // localhost resolves to 127.0.0.1, ::1 or both, depending on the machine's hosts file.
      expect(named[0]!.error).toMatch(
        new RegExp(
          `^POST ${byName}: not sent: localhost resolves to (127\\.0\\.0\\.1|::1), a loopback address; ${hint}$`,
        ),
      );

      // Allowed by name, the resolved loopback address is reached.
      await call('PUT', `/runs/${run}/alerts/by name/state`, { state: 'ok' });
      await call('PUT', `/runs/${run}/alerts/by name/state`, { state: 'critical' });
      const byNameAllowed = engineFor(t.store, t.clock, { webhookAllow: ['localhost'] });
      expect(await byNameAllowed.deliver()).toEqual({ sent: 1, retried: 0, failed: 0 });
      expect(receivers.hooks.requests.map((r) => [r.path, r.headers.host])).toEqual([
        ['/hooks/simscope', `localhost:${port}`],
      ]);
    } finally {
      await t.close();
    }
  });
});

describe('alert engine across restarts (SQLite file)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-alerts-'));
    file = join(dir, 'simscope.db');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(clock: { now: number }) {
    const store = SqliteStore.open(file);
    await store.migrate();
    await bootstrap(store, clock.now, ADMIN_TOKEN);
    const app = await createApp({ store, now: () => clock.now, webhookAllow: ALLOW_LOOPBACK });
    const call = api(app.inject.bind(app), { authorization: `Bearer ${ADMIN_TOKEN}` });
    return {
      store,
      call,
      engine: engineFor(store, clock),
      close: async () => {
        await app.close();
        await store.close();
      },
    };
  }

  it('catches up the slots it missed while down, and never repeats a notification', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S;
    const clock = { now: t0 };
    let server = await open(clock);
    const run = (await server.call('POST', '/runs', { name: 'restarted' })).body.id as string;
    await server.call('POST', `/runs/${run}/alerts`, {
      name: 'loss high',
      metric: 'loss',
      rule: 'is above',
      threshold: 0.5,
      window: 10,
      frequency: 5,
      notification: 'webhook',
      webhook: receivers.hooks.url,
      notifyOk: true,
    });
    await logPoints(server.call, run, 'loss', [
      [t0 + 1 * S, 0.9],
      [t0 + 4 * S, 0.7],
      [t0 + 11 * S, 0.1],
      [t0 + 14 * S, 0.2],
    ]);
    // Down before the first slot (t0 + 5 s), back a minute later: eleven slots were missed.
    await server.close();
    clock.now = t0 + 60 * S;
    server = await open(clock);
    const caught = await server.engine.evaluate();
    // Slots 5, 10, 15 and 20 hold data; from 25 on every window starts after the last point and is skipped.
    expect(caught).toEqual({ pairs: 1, slots: 4, transitions: 2 });
    const history = (await server.call('GET', `/runs/${run}/alerts/loss high/history`)).body.items;
    expect(history.map((h: { at: number; to: string }) => [h.at - t0, h.to])).toEqual([
      [5 * S, 'critical'],
      [15 * S, 'ok'],
    ]);
    expect((await server.call('GET', `/runs/${run}/alerts/loss high`)).body).toMatchObject({
      evaluated: t0 + 20 * S,
      next: t0 + 65 * S,
    });
    // Down again between recording the transitions and sending them: they go out once after the restart.
    await server.close();
    server = await open(clock);
    expect(await server.engine.evaluate()).toEqual({ pairs: 0, slots: 0, transitions: 0 });
    expect(await server.engine.deliver()).toEqual({ sent: 2, retried: 0, failed: 0 });
    await server.close();
    clock.now = t0 + 70 * S;
    server = await open(clock);
    expect(await server.engine.evaluate()).toEqual({ pairs: 1, slots: 1, transitions: 0 });
    expect(await server.engine.deliver()).toEqual({ sent: 0, retried: 0, failed: 0 });
    await server.close();
    expect(receivers.hooks.requests.map((r) => JSON.parse(r.body).type)).toEqual([
      'alert.critical',
      'alert.ok',
    ]);
  });
});

describe('two servers on one PostgreSQL database', () => {
  it('evaluate each slot once and send each notification once', async () => {
    const name = `t_${randomBytes(6).toString('hex')}`;
    const url = await createDatabase(inject('postgresUrl'), name);
    const t0 = Math.floor(Date.now() / 1000) * S;
    const clock = { now: t0 };
    const servers = [];
    for (let i = 0; i < 2; i++) {
      const store = PostgresStore.open(url, { poolSize: 4 });
      await store.migrate();
      await bootstrap(store, clock.now, ADMIN_TOKEN);
      const app = await createApp({ store, now: () => clock.now, webhookAllow: ALLOW_LOOPBACK });
      servers.push({ store, app, engine: engineFor(store, clock) });
    }
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const call = api(a.app.inject.bind(a.app), { authorization: `Bearer ${ADMIN_TOKEN}` });
    try {
      const runs: string[] = [];
      for (let i = 0; i < 20; i++) {
        const run = (await call('POST', '/runs', { name: `shared-${i}` })).body.id as string;
        await call('POST', `/runs/${run}/alerts`, {
          name: 'high',
          metric: 'm',
          rule: 'is above',
          threshold: 0,
          frequency: 1,
          notification: 'webhook',
          webhook: receivers.hooks.url,
        });
        await logPoints(call, run, 'm', [[t0 + S / 2, 1]]);
        runs.push(run);
      }
      clock.now = t0 + S;
      await Promise.all([a.engine.evaluate(), b.engine.evaluate()]);
      const [da, db] = await Promise.all([a.engine.deliver(), b.engine.deliver()]);
      expect(da.sent + db.sent).toBe(20);
      expect(receivers.hooks.requests).toHaveLength(20);
      expect(new Set(receivers.hooks.requests.map((r) => JSON.parse(r.body).run.id))).toEqual(new Set(runs));
      for (const run of runs) {
        expect((await call('GET', `/runs/${run}/alerts/high/history`)).body.items).toHaveLength(1);
      }
    } finally {
      for (const s of servers) {
        await s.app.close();
        await s.store.close();
      }
      const c = new pg.Client(inject('postgresUrl'));
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    }
  });
});

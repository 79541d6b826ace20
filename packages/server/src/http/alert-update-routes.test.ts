import { describe, expect, it } from 'vitest';
import { appForSuite, BACKENDS } from '../../../../test/fixtures.js';

describe.each(BACKENDS)('PATCH /alerts/:alert on %s', (backend) => {
  const t = appForSuite(backend);

  const call = (method: string, url: string, payload?: unknown) => t.call(method, url, payload);
  const definition = {
    name: 'quality too low',
    metric: 'quality',
    rule: 'is below',
    threshold: 0.4,
    window: '1m',
    frequency: '1m',
  };

  it('refuses another definition under a taken name, naming the call that changes it', async () => {
    expect((await call('POST', '/alerts', definition)).status).toBe(201);
    const taken = await call('POST', '/alerts', { ...definition, threshold: 0.5 });
    expect(taken.status).toBe(409);
    expect(taken.body!.error.message).toBe(
      "body.threshold: an alert named 'quality too low' already exists with another threshold; change it with run.updateAlert('quality too low', changes) or PATCH /alerts/quality%20too%20low, or use another name",
    );
  });

  it('changes fields, takes durations as text, removes a field with null, and checks the result', async () => {
    const changed = await call('PATCH', '/alerts/quality too low', { threshold: 0.5, window: '2m' });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      name: 'quality too low',
      rule: 'is below',
      threshold: 0.5,
      window: 120,
      frequency: 60,
    });
    expect((await call('GET', '/alerts/quality too low')).body).toMatchObject({
      threshold: 0.5,
      window: 120,
    });
    expect((await call('POST', '/alerts', { ...definition, threshold: 0.5, window: 120 })).status).toBe(200);

    const range = await call('PATCH', '/alerts/quality too low', {
      rule: 'is outside range',
      threshold: null,
      rangeLow: 1,
      rangeHigh: 5,
    });
    expect(range.status).toBe(200);
    expect(range.body).toMatchObject({
      rule: 'is outside range',
      threshold: null,
      rangeLow: 1,
      rangeHigh: 5,
    });

    const half = await call('PATCH', '/alerts/quality too low', { rule: 'is above' });
    expect(half.status).toBe(400);
    expect(half.body!.error.message).toBe("body.threshold: is required with rule 'is above'");
    const renamed = await call('PATCH', '/alerts/quality too low', { name: 'other' });
    expect(renamed.status).toBe(400);
    expect((await call('PATCH', '/alerts/nope', { threshold: 1 })).status).toBe(404);
  });

  it('evaluates the runs it is attached to by the new definition from their next slot', async () => {
    expect((await call('POST', '/runs', { name: 'watched', status: 'running' })).status).toBe(201);
    expect((await call('POST', '/runs/watched/alerts', { name: 'stalled', source: 'user' })).status).toBe(
      201,
    );
    const timed = await call('PATCH', '/alerts/stalled', {
      source: 'events',
      pattern: 'NaN',
      frequency: '30s',
    });
    expect(timed.status).toBe(200);
    expect(timed.body).toMatchObject({ source: 'events', pattern: 'NaN', frequency: 30, window: 30 });
    const slot = await t.store.alerts.dueEvaluations(t.clock.now + 30_000_000, 10);
    expect(slot.map((d) => [d.alert.name, d.slot])).toEqual([['stalled', t.clock.now + 30_000_000]]);
  });
});

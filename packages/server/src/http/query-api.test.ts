import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';

describe.each(BACKENDS)('query API on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp(backend);
  });
  afterAll(async () => {
    await t.close();
  });

  const call = async (
    method: string,
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await t.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: { ...t.auth, ...headers },
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
    return { status: res.statusCode, body: res.body ? (res.json() as Record<string, any>) : undefined, res };
  };
  const names = (body: Record<string, any> | undefined) => body!.items.map((r: { name: string }) => r.name);
  const runs = async (filter: string) => call('GET', `/runs?sort=name&filter=${encodeURIComponent(filter)}`);

  it('filters runs with matches: regular expressions on names, folders and metadata', async () => {
    for (const [name, solver] of [
      ['re-cavity-100', 'icoFoam'],
      ['re-cavity-1000', 'pisoFoam'],
      ['re-Cavity-x', 'simple.Foam'],
      ['re-step', 'icoFoam'],
    ] as const) {
      await call('POST', '/runs', { name, folder: '/re/match', metadata: { solver } });
    }
    expect(names((await runs('name matches "^re-cavity-[0-9]+$"')).body)).toEqual([
      're-cavity-100',
      're-cavity-1000',
    ]);
    expect(names((await runs('folder == /re/match and metadata.solver matches "^ico"')).body)).toEqual([
      're-cavity-100',
      're-step',
    ]);
    expect(names((await runs('metadata.solver matches "e\\\\.F"')).body)).toEqual(['re-Cavity-x']);
    expect(names((await runs('folder == /re/match and not name matches cavity')).body)).toEqual([
      're-Cavity-x',
      're-step',
    ]);
    const bad = await runs('name matches "(a"');
    expect(bad.status).toBe(400);
    expect(bad.body!.error.code).toBe('invalid_filter');
    expect(bad.body!.error.message).toMatch(
      /^invalid regular expression: missing closing \): `\(a` \(at column 14\)$/,
    );
  });

  it('answers a pattern PostgreSQL does not share with JavaScript as a 400 there', async () => {
    // A named group is RE2 syntax; SQLite runs RE2 expressions, PostgreSQL its own.
    const res = await runs('name matches "^re-(?<kind>step)$"');
    if (backend === 'sqlite') {
      expect(names(res.body)).toEqual(['re-step']);
    } else {
      expect(res.status).toBe(400);
      expect(res.body!.error.code).toBe('invalid_filter');
      expect(res.body!.error.message).toMatch(/PostgreSQL reads it as a POSIX regular expression$/);
    }
  });

  it('pages metric names and filters them by name, prefix, text and pattern', async () => {
    const run = (await call('POST', '/runs', { name: 'many-metrics' })).body!;
    const metrics = ['train/loss', 'train/acc', 'val/loss', 'val/acc', 'lr'];
    await call('POST', `/runs/${run.id}/metrics`, {
      writer: 'w',
      seq: 0,
      series: metrics.map((name, i) => ({ name, values: [i, i + 0.5] })),
    });
    const seen: string[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const page = await call('GET', `/runs/${run.id}/metrics?limit=2${next ? `&next=${next}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...names(page.body));
      next = page.body!.next;
      pages++;
    } while (next);
    expect(seen).toEqual(['lr', 'train/acc', 'train/loss', 'val/acc', 'val/loss']);
    expect(pages).toBe(3);
    const list = async (q: string) => names((await call('GET', `/runs/${run.id}/metrics?${q}`)).body);
    expect(await list('prefix=train/')).toEqual(['train/acc', 'train/loss']);
    expect(await list('q=LOSS')).toEqual(['train/loss', 'val/loss']);
    expect(await list(`regex=${encodeURIComponent('^(train|val)/a')}`)).toEqual(['train/acc', 'val/acc']);
    expect(await list('name=lr')).toEqual(['lr']);
    expect(await list('prefix=val/&q=acc')).toEqual(['val/acc']);
    const whole = await call('GET', `/runs/${run.id}/metrics?name=lr`);
    expect(whole.body).toEqual({
      items: [
        {
          name: 'lr',
          count: 2,
          last: { step: 1, time: expect.any(Number), timestamp: t.clock.now, value: 4.5 },
          min: 4,
          max: 4.5,
        },
      ],
      next: null,
    });
    const bad = await call('GET', `/runs/${run.id}/metrics?regex=${encodeURIComponent('[a')}`);
    expect(bad.status).toBe(400);
    expect(bad.body!.error.message).toMatch(/^query\.regex: invalid regular expression/);
    const badLimit = await call('GET', `/runs/${run.id}/metrics?limit=0`);
    expect(badLimit.body!.error.message).toBe("query.limit: must be a whole number from 1 to 1000, got '0'");
    const badCursor = await call('GET', `/runs/${run.id}/metrics?next=xyz`);
    expect(badCursor.body!.error.code).toBe('invalid_cursor');
  });

  it('runs a POST with an Idempotency-Key once and replays its answer', async () => {
    const key = { 'idempotency-key': `create-${backend}-1` };
    const first = await call('POST', '/runs', { folder: '/idem', tags: ['x'] }, key);
    expect(first.status).toBe(201);
    expect(first.res.headers['idempotent-replayed']).toBeUndefined();
    const again = await call('POST', '/runs', { folder: '/idem', tags: ['x'] }, key);
    expect(again.status).toBe(201);
    expect(again.res.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const [a, b] = await Promise.all([
      call('POST', '/runs', { folder: '/idem', tags: ['y'] }, { 'idempotency-key': 'together' }),
      call('POST', '/runs', { folder: '/idem', tags: ['y'] }, { 'idempotency-key': 'together' }),
    ]);
    expect(a.body!.id).toBe(b.body!.id);
    const reused = await call('POST', '/runs', { folder: '/idem', tags: ['z'] }, key);
    expect(reused.status).toBe(409);
    expect(reused.body!.error.message).toBe('header.idempotency-key: this key was used for another request');
    const conflict = { 'idempotency-key': 'named-twice' };
    expect((await call('POST', '/runs', { name: 'idem-a', folder: '/idem' }, conflict)).status).toBe(201);
    expect((await call('POST', '/runs', { name: 'idem-a', folder: '/idem' }, conflict)).status).toBe(201);
    const plain = await call('POST', '/runs', { name: 'idem-a', folder: '/idem' });
    expect(plain.status).toBe(409);
    const listed = await call('GET', `/runs?limit=100&filter=${encodeURIComponent('folder == /idem')}`);
    expect(listed.body!.items).toHaveLength(3);
    const badKey = await call('POST', '/runs', {}, { 'idempotency-key': 'has space' });
    expect(badKey.status).toBe(400);
    expect(badKey.body!.error.message).toBe(
      'header.idempotency-key: must be 1 to 255 printable ASCII characters without spaces',
    );
  });

  it('keeps idempotency keys per user: the same key from another user is another request', async () => {
    await call('POST', '/admin/users', { name: `carol-${backend}` });
    await call('POST', '/admin/workspaces/default/members', { user: `carol-${backend}` });
    const token = (await call('POST', '/admin/tokens', { user: `carol-${backend}`, name: 'k' })).body!;
    const key = { 'idempotency-key': 'shared-key' };
    const mine = await call('POST', '/runs', { folder: '/idem-users' }, key);
    const theirs = await call(
      'POST',
      '/runs',
      { folder: '/idem-users' },
      {
        ...key,
        authorization: `Bearer ${token.token}`,
      },
    );
    expect(theirs.status).toBe(201);
    expect(theirs.body!.id).not.toBe(mine.body!.id);
    expect(theirs.res.headers['idempotent-replayed']).toBeUndefined();
  });
});

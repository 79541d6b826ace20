import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const RUNS = { sqlite: 600, postgres: 150 } as const;

const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('loss', 'a/b', 'x\ud800', '\udfffy', '', ' ', 'NaN', '.', '..', 'a'.repeat(300)),
);
const anyNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(2 ** 53, 2 ** 62, -(2 ** 63), 1e300, -1e300, 0.5, -1, Number.MAX_SAFE_INTEGER + 2),
);
const cell = fc.oneof(
  { weight: 6, arbitrary: anyNumber },
  fc.constantFrom('NaN', 'Infinity', '-Infinity', null, 'x', true, {}, []),
);
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 48 }),
  fc.integer({ min: 0, max: 6 }).map((n) => new Uint8Array(n * 8)),
);
const column = fc.oneof(
  { weight: 8, arbitrary: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 2 }) },
  { weight: 4, arbitrary: fc.array(cell, { maxLength: 6 }) },
  bytes,
  cell,
);
const series = fc.record(
  {
    name: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('loss', 'residual/p', 'cfl') }, anyText, cell),
    values: column,
    steps: column,
    times: column,
    timestamps: column,
    stepStart: cell,
    timestampOrigin: cell,
    extra: cell,
  },
  { requiredKeys: ['name', 'values'] },
);
/** A series most servers take: a known name, finite values, sometimes steps. */
const cleanSeries = fc
  .tuple(
    fc.constantFrom('loss', 'residual/p', 'cfl'),
    fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 5 }),
    fc.boolean(),
    fc.nat(1000),
  )
  .map(([name, values, withSteps, first]) =>
    withSteps ? { name, values, steps: values.map((_, i) => first + i) } : { name, values },
  );
const batch = fc.record(
  {
    writer: fc.oneof({ weight: 6, arbitrary: fc.constant('fuzz') }, anyText, cell),
    series: fc.oneof(
      {
        weight: 8,
        arbitrary: fc.array(fc.oneof({ weight: 3, arbitrary: cleanSeries }, series), { maxLength: 3 }),
      },
      cell,
    ),
    clock: cell,
  },
  { requiredKeys: ['writer', 'series'] },
);

const cleanBatch = fc
  .array(cleanSeries, { minLength: 1, maxLength: 3 })
  .map((series) => ({ writer: 'fuzz', series }));

/** A request body: a structured batch in JSON or msgpack, possibly with bytes flipped, or random bytes. */
const body = fc.oneof(
  { weight: 5, arbitrary: batch.map((b) => ({ b, type: 'json' as const })) },
  { weight: 3, arbitrary: cleanBatch.map((b) => ({ b, type: 'json' as const })) },
  { weight: 3, arbitrary: cleanBatch.map((b) => ({ b, type: 'msgpack' as const })) },
  { weight: 5, arbitrary: batch.map((b) => ({ b, type: 'msgpack' as const })) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((raw) => ({ raw, type: 'json' as const })) },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ maxLength: 64 }).map((raw) => ({ raw, type: 'msgpack' as const })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        batch,
        fc.constantFrom('json' as const, 'msgpack' as const),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 }),
      )
      .map(([b, type, flips]) => ({ b, type, flips })),
  },
);

function encode(
  input: {
    b?: Record<string, unknown>;
    raw?: Uint8Array;
    type: 'json' | 'msgpack';
    flips?: [number, number][];
  },
  seq: number,
): Buffer {
  if (input.raw) return Buffer.from(input.raw);
  const value = { ...input.b, seq };
  const out = Buffer.from(input.type === 'json' ? JSON.stringify(value) : packr.pack(value));
  for (const [at, byte] of input.flips ?? []) if (out.length > 0) out[at % out.length] = byte;
  return out;
}

describe.each(BACKENDS)('API properties on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp(backend);
  });
  afterAll(async () => {
    await t.close();
  });

  const inject = (method: string, url: string, payload?: Buffer | string, type = 'application/json') =>
    t.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: { ...t.auth, ...(payload === undefined ? {} : { 'content-type': type }) },
      ...(payload === undefined ? {} : { payload }),
    });

  async function storedPoints(run: string): Promise<number> {
    const res = await inject('GET', `/runs/${run}/metrics`);
    expect(res.statusCode).toBe(200);
    return (res.json().items as { count: number }[]).reduce((sum, m) => sum + m.count, 0);
  }

  it('a metric batch of any bytes answers 2xx or 4xx, never 5xx, and stores all of it or nothing', async () => {
    const run = (await inject('POST', '/runs', JSON.stringify({ name: `fuzz-${backend}` }))).json()
      .id as string;
    const statuses = new Map<number, number>();
    let seq = 0;
    let before = 0;
    await fc.assert(
      fc.asyncProperty(body, async (input) => {
        seq += 1;
        const res = await inject(
          'POST',
          `/runs/${run}/metrics`,
          encode(input, seq),
          input.type === 'json' ? 'application/json' : 'application/msgpack',
        );
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, res.body).toBeLessThan(500);
        const after = await storedPoints(run);
        const added = res.statusCode < 300 ? (res.json().points as number) : 0;
        expect(after - before, res.body).toBe(added);
        before = after;
      }),
      { numRuns: RUNS[backend] },
    );
    const shown = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
    console.log(`metric batches on ${backend}: ${seq} cases, statuses ${shown.join(' ')}`);
    expect(statuses.get(500) ?? 0).toBe(0);
    expect(seq).toBe(RUNS[backend]);
  });

  it('a crafted cursor on any listing answers 200 or 400 invalid_cursor, never 5xx', async () => {
    const run = (await inject('POST', '/runs', JSON.stringify({ name: `cursor-${backend}` }))).json()
      .id as string;
    const points = { writer: 'w', seq: 0, series: [{ name: 'loss', values: [1, 2, 3] }] };
    expect((await inject('POST', `/runs/${run}/metrics`, JSON.stringify(points))).statusCode).toBe(200);
    const listings = [
      '/runs?',
      '/runs?sort=name&',
      '/runs?sort=-status&',
      '/runs?sort=started&',
      '/folders?',
      `/runs/${run}/events?`,
      `/runs/${run}/metrics?`,
      `/runs/${run}/metrics/series?name=loss&`,
      '/alerts?',
      '/run-table?',
    ];
    const key = fc.oneof(
      anyNumber,
      anyText,
      fc.constantFrom(null, true, {}, [], { a: 1 }, [1, 2], '-created'),
    );
    const cursor = fc.oneof(
      fc.array(key, { maxLength: 4 }).map((a) => Buffer.from(JSON.stringify(a)).toString('base64url')),
      fc.string({ maxLength: 20 }),
      fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b).toString('base64url')),
    );
    let cases = 0;
    let fives = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...listings), cursor, async (listing, next) => {
        cases += 1;
        const res = await inject('GET', `${listing}next=${encodeURIComponent(next)}`);
        if (res.statusCode >= 500) fives += 1;
        expect([200, 400], `${listing} next=${next}: ${res.body}`).toContain(res.statusCode);
        if (res.statusCode === 400) expect(res.json().error.code).toBe('invalid_cursor');
      }),
      { numRuns: RUNS[backend] },
    );
    console.log(`cursors on ${backend}: ${cases} cases, ${fives} answered 5xx`);
    expect(fives).toBe(0);
  });

  it('a run name is refused with 400 or stored and addressable by that same name', async () => {
    let cases = 0;
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(anyText, fc.integer({ min: 0, max: 1e9 }), async (name, salt) => {
        cases += 1;
        const unique = name.length > 0 && name.length < 200 ? `${name}${salt}` : name;
        const res = await inject('POST', '/runs', JSON.stringify({ name: unique }));
        // 409: the same name came up twice, and names are unique in a workspace.
        expect([201, 400, 409], res.body).toContain(res.statusCode);
        if (res.statusCode === 409) return;
        if (res.statusCode === 400) {
          expect(res.json().error.message).toMatch(/^body\.name: /);
          return;
        }
        stored += 1;
        expect(unique).not.toMatch(/\p{Cs}/u);
        const back = await inject('GET', `/runs/${encodeURIComponent(unique)}`);
        expect(back.statusCode, back.body).toBe(200);
        expect(back.json().id).toBe(res.json().id);
        expect(back.json().name).toBe(unique);
      }),
      { numRuns: RUNS[backend] / 2 },
    );
    console.log(`run names on ${backend}: ${cases} cases, ${stored} stored and read back by name`);
  });
});

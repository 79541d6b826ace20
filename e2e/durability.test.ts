import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float64Bytes, int64Bytes } from '@simscope/protocol';
import { Packr } from 'msgpackr';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { BACKENDS, type Backend } from '../test/fixtures.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const packr = new Packr({ useRecords: false });
const auth = { authorization: `Bearer ${E2E_TOKEN}` };

const WRITERS = 6;
const BATCHES_PER_WRITER = 8;
const POINTS = 1000;
/** Acknowledged replies after which the server is killed, while the other writers' batches are in flight. */
const KILL_AFTER = 12;

interface Batch {
  writer: string;
  seq: number;
  /** Steps `first … first + POINTS - 1`; no two batches share a step. */
  first: number;
}

const valueAt = (step: number) => step * 0.25 + 0.125;

function encode(batch: Batch): Buffer {
  const steps = new Float64Array(POINTS).map((_, i) => batch.first + i);
  const values = steps.map(valueAt);
  return packr.pack({
    writer: batch.writer,
    seq: batch.seq,
    series: [{ name: 'loss', steps: int64Bytes(steps), values: float64Bytes(values) }],
  });
}

function postBatch(url: string, run: string, batch: Batch): Promise<Response> {
  return fetch(`${url}/api/v1/runs/${run}/metrics`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/msgpack' },
    body: encode(batch),
  });
}

async function readSeries(url: string, run: string): Promise<{ steps: number[]; values: number[] }> {
  const res = await fetch(`${url}/api/v1/runs/${run}/metrics/series?name=loss`, { headers: auth });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { steps: number[]; values: number[]; next: string | null };
  expect(body.next).toBeNull();
  return body;
}

/** A place for the server's data: a home dir (SQLite in its data dir), or a new database in the test PostgreSQL. */
async function openData(backend: Backend): Promise<{ home: string; db?: string; cleanup(): Promise<void> }> {
  const home = mkdtempSync(join(tmpdir(), 'simscope-e2e-'));
  if (backend === 'sqlite') {
    return { home, cleanup: async () => rmSync(home, { recursive: true, force: true }) };
  }
  const adminUrl = inject('postgresUrl');
  const name = `e2e_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    home,
    db: adminUrl.replace(/\/postgres$/, `/${name}`),
    cleanup: async () => {
      const c = new pg.Client(adminUrl);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

beforeAll(() => {
  buildServer();
});

describe.each(BACKENDS)('durability on %s', (backend) => {
  const servers: ServerProcess[] = [];
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      if (s.running) s.kill('SIGKILL');
      await s.waitForExit();
    }
    await cleanup?.();
    cleanup = undefined;
  });

  it('keeps every acknowledged batch exactly once across a SIGKILL, and replays store nothing twice', async () => {
    const data = await openData(backend);
    cleanup = data.cleanup;
    const options = { home: data.home, ...(data.db ? { db: data.db } : {}) };
    const first = await ServerProcess.start(options);
    servers.push(first);
    const created = await fetch(`${first.url}/api/v1/runs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'crash' }),
    });
    expect(created.status).toBe(201);
    const run = ((await created.json()) as { id: string }).id;

    const batches: Batch[] = [];
    for (let w = 0; w < WRITERS; w++) {
      for (let seq = 0; seq < BATCHES_PER_WRITER; seq++) {
        batches.push({ writer: `w${w}`, seq, first: (w * BATCHES_PER_WRITER + seq) * POINTS });
      }
    }
    const acknowledged = new Set<Batch>();
    const refused: string[] = [];
    const failed = new Set<Batch>();
    let killed = false;
    const sendAll = async (writer: string) => {
      for (const batch of batches.filter((b) => b.writer === writer)) {
        if (killed) return;
        try {
          const res = await postBatch(first.url, run, batch);
          const body = await res.json();
          if (res.ok && JSON.stringify(body) === JSON.stringify({ stored: true, points: POINTS })) {
            acknowledged.add(batch);
            if (acknowledged.size === KILL_AFTER) {
              first.kill('SIGKILL');
              killed = true;
            }
          } else {
            refused.push(`${batch.writer}/${batch.seq}: ${res.status} ${JSON.stringify(body)}`);
          }
        } catch {
          failed.add(batch);
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => sendAll(`w${w}`)));
    expect(await first.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(refused, first.output).toEqual([]);
    // Replies already on the wire when the signal lands still arrive: they are acknowledgements too.
    expect(acknowledged.size).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(failed.size).toBeGreaterThan(0);

    const second = await ServerProcess.start(options);
    servers.push(second);
    const after = await readSeries(second.url, run);
    expect(new Set(after.steps).size).toBe(after.steps.length);
    const present = new Map<number, number>();
    after.steps.forEach((step, i) => {
      present.set(step, after.values[i]!);
    });
    const survived = new Set<Batch>();
    for (const batch of batches) {
      let found = 0;
      for (let i = 0; i < POINTS; i++) {
        const step = batch.first + i;
        if (!present.has(step)) continue;
        expect(present.get(step)).toBe(valueAt(step));
        found++;
      }
      expect([0, POINTS], `${batch.writer}/${batch.seq} is stored whole or not at all`).toContain(found);
      if (found === POINTS) survived.add(batch);
    }
    for (const batch of acknowledged) expect(survived.has(batch), `${batch.writer}/${batch.seq}`).toBe(true);
    expect(after.steps.length).toBe(survived.size * POINTS);

    for (const batch of batches) {
      const res = await postBatch(second.url, run, batch);
      expect(res.status).toBe(200);
      const expected = survived.has(batch) ? { stored: false, points: 0 } : { stored: true, points: POINTS };
      expect(await res.json(), `${batch.writer}/${batch.seq}`).toEqual(expected);
    }
    const final = await readSeries(second.url, run);
    expect(final.steps).toEqual(
      batches.flatMap((b) => Array.from({ length: POINTS }, (_, i) => b.first + i)),
    );
    expect(final.values).toEqual(final.steps.map(valueAt));
    const names = await fetch(`${second.url}/api/v1/runs/${run}/metrics`, { headers: auth });
    const items = ((await names.json()) as { items: { name: string; count: number }[] }).items;
    expect(items.map((s) => [s.name, s.count])).toEqual([['loss', batches.length * POINTS]]);
  });
});

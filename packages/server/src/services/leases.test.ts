import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../../../scripts/postgres-cluster.js';
import { LEASES, type Leases, LocalLeases, PostgresLeases } from './leases.js';

const until = async (check: () => boolean, ms = 5000) => {
  const stop = Date.now() + ms;
  while (!check()) {
    if (Date.now() > stop) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('leases over PostgreSQL advisory locks', () => {
  const made: Leases[] = [];
  afterEach(async () => {
    for (const leases of made.splice(0)) await leases.stop();
  });
  const open = (url: string) => {
    const leases = new PostgresLeases({ url, retryMs: 100 });
    made.push(leases);
    return leases;
  };

  it('gives each lease to one process, and to another when the holder stops or its connection dies', async () => {
    const url = await createDatabase(inject('postgresUrl'), `l_${randomBytes(6).toString('hex')}`);
    const a = open(url);
    const b = open(url);
    await a.start();
    await b.start();
    expect(a.held()).toEqual([...LEASES]);
    expect(b.held()).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.held()).toEqual([]);

    await a.stop();
    expect(a.held()).toEqual([]);
    await until(() => b.held().length === LEASES.length);
    expect(b.holds('lost-runs')).toBe(true);

    // The holder's session ends as a crash would end it: the next process takes over within its retry interval.
    const c = open(url);
    await c.start();
    expect(c.held()).toEqual([]);
    const admin = new pg.Client(url);
    await admin.connect();
    const { rows } = await admin.query<{ pid: number }>(
      "SELECT DISTINCT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted",
    );
    expect(rows.length).toBe(1);
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await admin.end();
    const lostAt = Date.now();
    // The dead session's process reconnects too: each lease goes to exactly one of the two.
    const oneHolderEach = () => LEASES.every((name) => Number(b.holds(name)) + Number(c.holds(name)) === 1);
    await until(oneHolderEach);
    expect(Date.now() - lostAt).toBeLessThan(3000);
    await new Promise((r) => setTimeout(r, 300));
    expect(oneHolderEach()).toBe(true);
  });
});

describe('leases on SQLite', () => {
  it('are all held by the one process', async () => {
    const leases = new LocalLeases();
    await leases.start();
    expect(leases.held()).toEqual([...LEASES]);
    expect(leases.holds('blob-gc')).toBe(true);
    await leases.stop();
  });
});

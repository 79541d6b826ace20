import type { EventLevel } from '@simscope/protocol';
import type { EventQuery, EventRecord, EventStore, NewEvent } from './event-store.js';
import type { BatchKey } from './metric-store.js';
import type { SqlDriver, SqlParam } from './sql-driver.js';
import { claimBatch, containsPattern, num } from './sql-rows.js';

/** Events over any SQL driver. */
export class SqlEventStore implements EventStore {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  async appendEvents(
    runPk: number,
    key: BatchKey,
    events: readonly NewEvent[],
    segment = 1,
  ): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      if (!(await claimBatch(tx, runPk, 'events', key))) return false;
      const chunk = 500;
      for (let start = 0; start < events.length; start += chunk) {
        const part = events.slice(start, start + chunk);
        const params: SqlParam[] = [];
        for (const e of part) params.push(runPk, e.timestamp, e.level, e.message, segment);
        await tx.run(
          `INSERT INTO events (run_pk, ts, level, message, segment) VALUES ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
          params,
        );
      }
      return true;
    });
  }

  async listEvents(runPk: number, query: EventQuery): Promise<EventRecord[]> {
    const where = ['run_pk = ?'];
    const params: SqlParam[] = [runPk];
    if (query.from !== null) {
      where.push('ts >= ?');
      params.push(query.from);
    }
    if (query.to !== null) {
      where.push('ts < ?');
      params.push(query.to);
    }
    if (query.levels) {
      where.push(`level IN (${query.levels.map(() => '?').join(', ')})`);
      params.push(...query.levels);
    }
    if (query.search) {
      where.push(this.#db.dialect.ilike('message'));
      params.push(containsPattern(query.search));
    }
    const dir = query.descending ? 'DESC' : 'ASC';
    if (query.after) {
      where.push(`(ts, pk) ${query.descending ? '<' : '>'} (?, ?)`);
      params.push(query.after.timestamp, query.after.pk);
    }
    params.push(query.limit);
    const rows = await this.#db.all(
      `SELECT pk, ts, level, message, segment FROM events WHERE ${where.join(' AND ')} ORDER BY ts ${dir}, pk ${dir} LIMIT ?`,
      params,
    );
    return rows.map((r) => ({
      pk: num(r.pk),
      timestamp: num(r.ts),
      level: String(r.level) as EventLevel,
      message: String(r.message),
      segment: r.segment == null ? 1 : num(r.segment),
    }));
  }
}

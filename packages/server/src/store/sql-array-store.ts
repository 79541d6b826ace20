import type { ArrayAxis, ArrayDtype } from '@simscope/protocol';
import type {
  ArrayChunk,
  ArraySeriesRecord,
  ArrayStepRecord,
  ArrayStore,
  NewArrayStep,
  StepMetrics,
} from './array-store.js';
import type { SqlDriver, SqlRow } from './sql-driver.js';
import { SqlMetricStore } from './sql-metric-store.js';
import { num, numOrNull } from './sql-rows.js';

function arrayStep(row: SqlRow): ArrayStepRecord {
  return {
    pk: num(row.pk),
    runPk: num(row.run_pk),
    name: String(row.name),
    step: num(row.step),
    time: numOrNull(row.time),
    shape: JSON.parse(String(row.shape)) as number[],
    dtype: String(row.dtype) as ArrayDtype,
    axes: row.axes === null || row.axes === undefined ? null : (JSON.parse(String(row.axes)) as ArrayAxis[]),
    min: numOrNull(row.min),
    max: numOrNull(row.max),
    mean: numOrNull(row.mean),
    storedBytes: num(row.stored_bytes),
    createdAt: num(row.created_at),
  };
}

const STEP_COLUMNS =
  'pk, run_pk, name, step, time, shape, dtype, axes, min, max, mean, stored_bytes, created_at';

/** Array steps over any SQL driver. */
export class SqlArrayStore implements ArrayStore {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  async saveArrayStep(
    s: NewArrayStep,
    chunks: readonly ArrayChunk[],
    metricsOf?: (saved: ArrayStepRecord) => StepMetrics | null,
  ): Promise<ArrayStepRecord> {
    const storedBytes = chunks.reduce((sum, c) => sum + c.size, 0);
    return this.#db.transaction(async (tx) => {
      const old = await tx.get<{ pk: number }>(
        'SELECT pk FROM array_steps WHERE run_pk = ? AND name = ? AND step = ?',
        [s.runPk, s.name, s.step],
      );
      if (old) {
        await tx.run(
          'INSERT INTO blob_unref (sha256) SELECT sha256 FROM array_chunks WHERE step_pk = ? ON CONFLICT DO NOTHING',
          [old.pk],
        );
        await tx.run('DELETE FROM array_chunks WHERE step_pk = ?', [old.pk]);
        await tx.run('DELETE FROM array_steps WHERE pk = ?', [old.pk]);
      }
      const row = await tx.get(
        `INSERT INTO array_steps (run_pk, name, step, time, shape, dtype, axes, min, max, mean, stored_bytes, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${STEP_COLUMNS}`,
        [
          s.runPk,
          s.name,
          s.step,
          s.time,
          JSON.stringify(s.shape),
          s.dtype,
          s.axes === null ? null : JSON.stringify(s.axes),
          s.min,
          s.max,
          s.mean,
          storedBytes,
          s.createdAt,
        ],
      );
      if (!row) throw new Error('INSERT … RETURNING gave no row');
      const saved = arrayStep(row);
      // Before the chunks' blob rows: every save takes the series' row locks (PostgreSQL) before any blob row,
      // so that two saves of steps with a chunk in common cannot wait for each other.
      const metrics = metricsOf?.(saved);
      if (metrics) {
        // Blocks are only added or replaced under new keys: a store without a cache writes them as the shared one.
        const store = new SqlMetricStore(tx, { cacheBytes: 0 });
        await store.appendMetrics(s.runPk, metrics.key, metrics.series, metrics.clock);
      }
      for (const [idx, chunk] of chunks.entries()) {
        await tx.run('INSERT INTO blobs (sha256, size, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [
          chunk.sha256,
          chunk.size,
          s.createdAt,
        ]);
        // A chunk whose blob was queued as unreferenced is in use again.
        await tx.run('DELETE FROM blob_unref WHERE sha256 = ?', [chunk.sha256]);
        await tx.run('INSERT INTO array_chunks (step_pk, idx, sha256, size) VALUES (?, ?, ?, ?)', [
          saved.pk,
          idx,
          chunk.sha256,
          chunk.size,
        ]);
      }
      return saved;
    });
  }

  async getArrayStep(
    runPk: number,
    name: string,
    step: number | null,
    nearest = false,
  ): Promise<ArrayStepRecord | undefined> {
    const base = `SELECT ${STEP_COLUMNS} FROM array_steps WHERE run_pk = ? AND name = ?`;
    if (step === null) {
      const row = await this.#db.get(`${base} ORDER BY step DESC LIMIT 1`, [runPk, name]);
      return row && arrayStep(row);
    }
    if (!nearest) {
      const row = await this.#db.get(`${base} AND step = ?`, [runPk, name, step]);
      return row && arrayStep(row);
    }
    const below = await this.#db.get(`${base} AND step <= ? ORDER BY step DESC LIMIT 1`, [runPk, name, step]);
    const above = await this.#db.get(`${base} AND step > ? ORDER BY step ASC LIMIT 1`, [runPk, name, step]);
    if (!below) return above && arrayStep(above);
    if (!above) return arrayStep(below);
    return num(above.step) - step < step - num(below.step) ? arrayStep(above) : arrayStep(below);
  }

  async arrayChunks(stepPk: number): Promise<ArrayChunk[]> {
    const rows = await this.#db.all('SELECT sha256, size FROM array_chunks WHERE step_pk = ? ORDER BY idx', [
      stepPk,
    ]);
    return rows.map((r) => ({ sha256: String(r.sha256), size: num(r.size) }));
  }

  async listArraySeries(runPk: number, after: string | null, limit: number): Promise<ArraySeriesRecord[]> {
    const rows = await this.#db.all(
      `SELECT s.name, s.n, s.first_step, s.last_step, l.dtype, l.shape FROM (
         SELECT name, COUNT(*) AS n, MIN(step) AS first_step, MAX(step) AS last_step FROM array_steps
         WHERE run_pk = ? AND name > ? GROUP BY name ORDER BY name LIMIT ?
       ) s JOIN array_steps l ON l.run_pk = ? AND l.name = s.name AND l.step = s.last_step ORDER BY s.name`,
      [runPk, after ?? '', limit, runPk],
    );
    return rows.map((r) => ({
      name: String(r.name),
      steps: num(r.n),
      firstStep: num(r.first_step),
      lastStep: num(r.last_step),
      dtype: String(r.dtype) as ArrayDtype,
      shape: JSON.parse(String(r.shape)) as number[],
    }));
  }

  async listArraySteps(
    runPk: number,
    name: string,
    after: number | null,
    limit: number,
  ): Promise<ArrayStepRecord[]> {
    const rows = await this.#db.all(
      `SELECT ${STEP_COLUMNS} FROM array_steps WHERE run_pk = ? AND name = ? AND step > ? ORDER BY step LIMIT ?`,
      [runPk, name, after ?? -1, limit],
    );
    return rows.map(arrayStep);
  }
}

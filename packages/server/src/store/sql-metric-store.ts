import type { MetricSeries, SeriesAxis } from '@simscope/protocol';
import { BlockCache } from './block-cache.js';
import { encodeBlock, float64Column, integerColumn, stepColumn, timeColumn } from './metric-block-codec.js';
import {
  absorbs,
  finiteSum,
  mayMerge,
  planBlocks,
  type SeriesSummary,
  summaryAfter,
  visiblePart,
} from './metric-blocks.js';
import { fillPoints } from './metric-fill.js';
import {
  type BatchKey,
  BLOCK_COLUMNS,
  type Block,
  type BlockColumn,
  type BlockIndexEntry,
  type MetricClock,
  type MetricStore,
  type Points,
  type ReadOptions,
  type SeriesListQuery,
  type SeriesRecord,
} from './metric-store.js';
import type { SqlDriver, SqlParam, SqlRow } from './sql-driver.js';
import { claimBatch, containsPattern, num, numOrNull } from './sql-rows.js';

const EMPTY = new Float64Array(0);
const BLOB_COLUMN: Record<BlockColumn, string> = {
  steps: 'steps',
  times: 'times',
  timestamps: 'timestamps',
  values: 'vals',
};

/** Leaves out blocks a later segment's rewind hid whole (their first step is past it). */
const VISIBLE = '(visible_to IS NULL OR step_min <= visible_to)';

const AXIS_COLUMNS = {
  step: ['step_min', 'step_max'],
  time: ['time_min', 'time_max'],
  timestamp: ['ts_min', 'ts_max'],
} as const;

/** Metric series and their blocks over any SQL driver, with a cache of decoded block columns. */
export class SqlMetricStore implements MetricStore {
  readonly #db: SqlDriver;
  readonly #cache: BlockCache;

  constructor(db: SqlDriver, options: { cacheBytes?: number } = {}) {
    this.#db = db;
    this.#cache = new BlockCache(options.cacheBytes ?? 256 * 1024 * 1024);
  }

  #series(row: SqlRow): SeriesRecord {
    return {
      pk: num(row.pk),
      runPk: num(row.run_pk),
      name: String(row.name),
      count: num(row.count),
      lastStep: numOrNull(row.last_step),
      lastTime: numOrNull(row.last_time),
      lastTimestamp: numOrNull(row.last_timestamp),
      lastValue: numOrNull(row.last_value),
      minValue: numOrNull(row.min_value),
      maxValue: numOrNull(row.max_value),
    };
  }

  async appendMetrics(
    runPk: number,
    key: BatchKey,
    series: readonly MetricSeries[],
    clock: MetricClock,
  ): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      if (!(await claimBatch(tx, runPk, 'metrics', key))) return false;
      // Series are locked in name order so that concurrent batches over the same series cannot deadlock.
      const order = [...series.entries()].sort(([a, x], [b, y]) =>
        x.name < y.name ? -1 : x.name > y.name ? 1 : a - b,
      );
      for (const [, one] of order) {
        const name = one.name;
        const select = `SELECT * FROM series WHERE run_pk = ? AND name = ?${tx.dialect.forUpdate}`;
        let row = await tx.get(select, [runPk, name]);
        if (!row) {
          await tx.run(
            'INSERT INTO series (run_pk, name, count, sum_value, sum_count) VALUES (?, ?, 0, 0, 0) ON CONFLICT (run_pk, name) DO NOTHING',
            [runPk, name],
          );
          row = await tx.get(select, [runPk, name]);
        }
        if (!row) throw new Error(`series '${name}' is missing right after it was inserted`);
        const stored = this.#series(row);
        const points = fillPoints(one, stored.lastStep, clock.startedAt, clock.now);
        if (points.values.length === 0) continue;
        await this.#appendPoints(tx, stored, points, clock.segment ?? 1);
      }
      return true;
    });
  }

  async replaceSeries(seriesPk: number, points: Points): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run('DELETE FROM metric_blocks WHERE series_pk = ?', [seriesPk]);
      await tx.run(
        `UPDATE series SET count = 0, min_value = NULL, max_value = NULL, last_step = NULL, last_time = NULL,
           last_timestamp = NULL, last_value = NULL, sum_value = 0, sum_count = 0 WHERE pk = ?`,
        [seriesPk],
      );
      const row = await tx.get(`SELECT * FROM series WHERE pk = ?${tx.dialect.forUpdate}`, [seriesPk]);
      if (row && points.values.length > 0) await this.#appendPoints(tx, this.#series(row), points, 1);
    });
  }

  async recomputeSummary(seriesPk: number): Promise<void> {
    const index = await this.blockIndex(seriesPk, 'step', Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
    let summary: SeriesSummary = {
      lastStep: null,
      lastTime: null,
      lastTimestamp: null,
      lastValue: null,
      minValue: null,
      maxValue: null,
    };
    let count = 0;
    let sum: number | null = 0;
    let sumCount = 0;
    for (let start = 0; start < index.length; start += 32) {
      const pks = index.slice(start, start + 32).map((b) => b.pk);
      for (const block of await this.readBlocksByPk(pks)) {
        if (block.values.length === 0) continue;
        summary = summaryAfter(summary, block);
        count += block.values.length;
        const finite = finiteSum(block.values);
        sum = sum !== null && Number.isFinite(sum + finite.sum) ? sum + finite.sum : null;
        sumCount += finite.count;
      }
    }
    await this.#db.run(
      `UPDATE series SET count = ?, min_value = ?, max_value = ?, last_step = ?, last_time = ?, last_timestamp = ?,
         last_value = ?, sum_value = ?, sum_count = ? WHERE pk = ?`,
      [
        count,
        summary.minValue,
        summary.maxValue,
        summary.lastStep,
        summary.lastTime,
        summary.lastTimestamp,
        summary.lastValue,
        sum,
        sumCount,
        seriesPk,
      ],
    );
  }

  async #appendPoints(tx: SqlDriver, series: SeriesRecord, points: Points, segment: number): Promise<void> {
    let last: Block | null = null;
    if (mayMerge(points.values.length)) {
      const row = await tx.get(
        'SELECT pk, n, segment, visible_to FROM metric_blocks WHERE series_pk = ? ORDER BY pk DESC LIMIT 1',
        [series.pk],
      );
      // A block of an earlier segment stays as it is, so that a later rewind can hide it.
      const same = row && num(row.segment) === segment && row.visible_to == null;
      if (row && same && absorbs(num(row.n), points.values.length)) {
        [last = null] = await this.#selectBlocks(tx, 'WHERE pk = ?', [num(row.pk)]);
      }
    }
    const plan = planBlocks(points, last);
    for (const piece of plan.pieces) {
      const b = encodeBlock(piece);
      await tx.run(
        `INSERT INTO metric_blocks (series_pk, n, step_min, step_max, step_stride, time_min, time_max, ts_min, ts_max,
           time_origin, steps, times, timestamps, vals, segment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          series.pk,
          b.n,
          b.stepMin,
          b.stepMax,
          b.stepStride,
          b.timeMin,
          b.timeMax,
          b.tsMin,
          b.tsMax,
          b.timeOrigin,
          b.steps,
          b.times,
          b.timestamps,
          b.values,
          segment,
        ],
      );
    }
    if (plan.replaces !== null) await tx.run('DELETE FROM metric_blocks WHERE pk = ?', [plan.replaces]);
    const next = summaryAfter(series, points);
    const finite = finiteSum(points.values);
    // A sum past the largest double has no mean: it becomes NULL (PostgreSQL would refuse the overflow).
    const add = Number.isFinite(finite.sum) ? finite.sum : null;
    const above = add !== null && add > 0 ? Number.MAX_VALUE - add : null;
    const below = add !== null && add < 0 ? -Number.MAX_VALUE - add : null;
    await tx.run(
      `UPDATE series SET count = count + ?, min_value = ?, max_value = ?,
         last_step = ?, last_time = ?, last_timestamp = ?, last_value = ?,
         sum_value = CASE WHEN sum_value > ? OR sum_value < ? THEN NULL ELSE sum_value + ? END,
         sum_count = sum_count + ? WHERE pk = ?`,
      [
        points.values.length,
        next.minValue,
        next.maxValue,
        next.lastStep,
        next.lastTime,
        next.lastTimestamp,
        next.lastValue,
        above,
        below,
        add,
        finite.count,
        series.pk,
      ],
    );
  }

  async #selectBlocks(
    db: SqlDriver,
    where: string,
    params: SqlParam[],
    columns: readonly BlockColumn[] = BLOCK_COLUMNS,
    superseded = false,
  ): Promise<Block[]> {
    const metas = await db.all(
      `SELECT pk, n, step_min, step_stride, ts_min, time_origin, visible_to FROM metric_blocks ${where}`,
      params,
    );
    const cuts = superseded ? [] : metas.filter((m) => m.visible_to != null);
    const want: BlockColumn[] = [...new Set<BlockColumn>([...columns, 'values'])];
    // Derived times are recomputed from the timestamps, so asking for times reads those too.
    if (want.includes('times') && !want.includes('timestamps')) want.push('timestamps');
    // Hiding superseded points needs their steps.
    if (cuts.length > 0 && !want.includes('steps')) want.push('steps');
    const found = new Map<number, Partial<Record<BlockColumn, Float64Array>>>();
    const metaByPk = new Map<number, SqlRow>();
    const missing: number[] = [];
    for (const meta of metas) {
      const pk = num(meta.pk);
      metaByPk.set(pk, meta);
      const cached: Partial<Record<BlockColumn, Float64Array>> = {};
      let complete = true;
      for (const column of want) {
        const hit = this.#cache.get(pk, column);
        if (hit) cached[column] = hit;
        else complete = false;
      }
      found.set(pk, cached);
      if (!complete) missing.push(pk);
    }
    for (let start = 0; start < missing.length; start += 500) {
      const pks = missing.slice(start, start + 500);
      const rows = await db.all(
        `SELECT pk, ${want.map((c) => BLOB_COLUMN[c]).join(', ')} FROM metric_blocks WHERE pk IN (${pks.map(() => '?').join(', ')})`,
        pks,
      );
      for (const row of rows) {
        const pk = num(row.pk);
        const cached = found.get(pk);
        const meta = metaByPk.get(pk);
        if (!cached || !meta) throw new Error(`metric block ${pk} was not asked for`);
        const n = num(meta.n);
        const raw = (column: BlockColumn) => row[BLOB_COLUMN[column]] as Uint8Array | null;
        const blob = (column: BlockColumn) => {
          const bytes = raw(column);
          if (!bytes) throw new Error(`metric block ${pk} has no ${column}`);
          return bytes;
        };
        // Timestamps first: derived times need them.
        for (const column of ['timestamps', 'steps', 'values', 'times'] as const) {
          if (!want.includes(column) || cached[column]) continue;
          let data: Float64Array;
          if (column === 'steps')
            data = stepColumn(raw('steps'), n, num(meta.step_min), numOrNull(meta.step_stride));
          else if (column === 'timestamps') data = integerColumn(blob('timestamps'), n, num(meta.ts_min));
          else if (column === 'times')
            data = timeColumn(raw('times'), cached.timestamps ?? EMPTY, numOrNull(meta.time_origin));
          else data = float64Column(blob('values'));
          cached[column] = data;
          this.#cache.set(pk, column, data);
        }
      }
    }
    return metas.map((meta) => {
      const pk = num(meta.pk);
      const c = found.get(pk);
      if (!c) throw new Error(`metric block ${pk} was not read`);
      const block: Block = {
        pk,
        steps: c.steps ?? EMPTY,
        times: c.times ?? EMPTY,
        timestamps: c.timestamps ?? EMPTY,
        values: c.values ?? EMPTY,
        timeOrigin: numOrNull(meta.time_origin),
      };
      if (superseded || meta.visible_to == null) return block;
      const part = visiblePart(block, num(meta.visible_to));
      return columns.includes('steps') ? part : { ...part, steps: EMPTY };
    });
  }

  async listSeries(runPk: number, query: SeriesListQuery = {}): Promise<SeriesRecord[]> {
    const where = ['run_pk = ?'];
    const params: SqlParam[] = [runPk];
    if (query.name != null) {
      where.push('name = ?');
      params.push(query.name);
    }
    if (query.prefix != null) {
      where.push('substr(name, 1, ?) = ?');
      params.push(query.prefix.length, query.prefix);
    }
    if (query.search != null) {
      where.push(this.#db.dialect.ilike('name'));
      params.push(containsPattern(query.search));
    }
    if (query.regex != null) {
      where.push(this.#db.dialect.regex('name'));
      params.push(query.regex);
    }
    if (query.after != null) {
      where.push('name > ?');
      params.push(query.after);
    }
    let limit = '';
    if (query.limit !== undefined) {
      limit = ' LIMIT ?';
      params.push(query.limit);
    }
    const rows = await this.#db.all(
      `SELECT * FROM series WHERE ${where.join(' AND ')} ORDER BY name${limit}`,
      params,
    );
    return rows.map((r) => this.#series(r));
  }

  async metricNames(workspaceId: string, limit: number): Promise<string[]> {
    const rows = await this.#db.all(
      `SELECT DISTINCT s.name FROM runs r JOIN series s ON s.run_pk = r.pk
       WHERE r.workspace_id = ? ORDER BY s.name LIMIT ?`,
      [workspaceId, limit],
    );
    return rows.map((r) => String(r.name));
  }

  async getSeries(runPk: number, name: string): Promise<SeriesRecord | undefined> {
    const row = await this.#db.get('SELECT * FROM series WHERE run_pk = ? AND name = ?', [runPk, name]);
    return row && this.#series(row);
  }

  readBlocks(
    seriesPk: number,
    axis: SeriesAxis,
    from: number,
    to: number,
    columns: readonly BlockColumn[] = BLOCK_COLUMNS,
    options: ReadOptions = {},
  ): Promise<Block[]> {
    const [lo, hi] = AXIS_COLUMNS[axis];
    const visible = options.superseded ? '' : ` AND ${VISIBLE}`;
    return this.#selectBlocks(
      this.#db,
      `WHERE series_pk = ? AND ${hi} >= ? AND ${lo} < ?${visible} ORDER BY ${lo}, pk`,
      [seriesPk, from, to],
      columns,
      options.superseded,
    );
  }

  async axisRange(seriesPk: number, axis: SeriesAxis): Promise<[number, number] | null> {
    const [lo, hi] = AXIS_COLUMNS[axis];
    const row = await this.#db.get(
      `SELECT min(${lo}) AS lo, max(${hi}) AS hi FROM metric_blocks WHERE series_pk = ? AND ${VISIBLE}`,
      [seriesPk],
    );
    return row && row.lo !== null && row.lo !== undefined ? [num(row.lo), num(row.hi)] : null;
  }

  async blockIndex(
    seriesPk: number,
    axis: SeriesAxis,
    from: number,
    to: number,
    options: ReadOptions = {},
  ): Promise<BlockIndexEntry[]> {
    const [lo, hi] = AXIS_COLUMNS[axis];
    const visible = options.superseded ? '' : ` AND ${VISIBLE}`;
    const rows = await this.#db.all(
      `SELECT pk, n, ${lo} AS lo, ${hi} AS hi FROM metric_blocks
       WHERE series_pk = ? AND ${hi} >= ? AND ${lo} < ?${visible} ORDER BY ${lo}, pk`,
      [seriesPk, from, to],
    );
    return rows.map((r) => ({ pk: num(r.pk), points: num(r.n), lo: num(r.lo), hi: num(r.hi) }));
  }

  async readBlocksByPk(
    pks: readonly number[],
    columns: readonly BlockColumn[] = BLOCK_COLUMNS,
    options: ReadOptions = {},
  ): Promise<Block[]> {
    if (pks.length === 0) return [];
    const blocks = await this.#selectBlocks(
      this.#db,
      `WHERE pk IN (${pks.map(() => '?').join(', ')})`,
      [...pks],
      columns,
      options.superseded,
    );
    const byPk = new Map(blocks.map((b) => [b.pk, b]));
    return pks.flatMap((pk) => byPk.get(pk) ?? []);
  }
}

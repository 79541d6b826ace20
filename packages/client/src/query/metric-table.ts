import { jsonNumber } from '@simscope/protocol';
import { type ArrowTable, dictionaryVector, loadArrow } from './arrow.js';
import type { Column } from './columns.js';
import { csvLines, joinLines, jsonLines, type WriteTarget, writeLines } from './writers.js';

/** One series' points as they came from the server. */
export interface SeriesColumns {
  run: string;
  metric: string;
  steps: BigInt64Array;
  times: Float64Array;
  timestamps: BigInt64Array;
  values: Float64Array;
}

/** One row of the long table. */
export interface MetricRow {
  run: string;
  metric: string;
  step: number;
  time: number;
  timestamp: number;
  value: number;
}

function concat<A extends BigInt64Array | Float64Array>(parts: A[], make: (n: number) => A): A {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = make(n);
  let at = 0;
  for (const p of parts) {
    out.set(p as never, at);
    at += p.length;
  }
  return out;
}

/**
 * Metric values of many runs as one long table: a row per point with run, metric, step, time (seconds since the
 * run started), timestamp (microseconds since the epoch, UTC) and value. Columns are typed arrays.
 */
export class MetricTable {
  /** Run names (or ids, as given) that `runIndex` points into. */
  readonly runs: string[];
  /** Metric names that `metricIndex` points into. */
  readonly metrics: string[];
  readonly runIndex: Int32Array;
  readonly metricIndex: Int32Array;
  readonly steps: BigInt64Array;
  readonly times: Float64Array;
  readonly timestamps: BigInt64Array;
  readonly values: Float64Array;

  constructor(series: readonly SeriesColumns[]) {
    const runIds = new Map<string, number>();
    const metricIds = new Map<string, number>();
    const id = (map: Map<string, number>, key: string) => {
      let n = map.get(key);
      if (n === undefined) {
        n = map.size;
        map.set(key, n);
      }
      return n;
    };
    let length = 0;
    for (const s of series) length += s.values.length;
    this.runIndex = new Int32Array(length);
    this.metricIndex = new Int32Array(length);
    let at = 0;
    for (const s of series) {
      this.runIndex.fill(id(runIds, s.run), at, at + s.values.length);
      this.metricIndex.fill(id(metricIds, s.metric), at, at + s.values.length);
      at += s.values.length;
    }
    this.runs = [...runIds.keys()];
    this.metrics = [...metricIds.keys()];
    this.steps = concat(
      series.map((s) => s.steps),
      (n) => new BigInt64Array(n),
    );
    this.times = concat(
      series.map((s) => s.times),
      (n) => new Float64Array(n),
    );
    this.timestamps = concat(
      series.map((s) => s.timestamps),
      (n) => new BigInt64Array(n),
    );
    this.values = concat(
      series.map((s) => s.values),
      (n) => new Float64Array(n),
    );
  }

  /** Points in the table. */
  get length(): number {
    return this.values.length;
  }

  row(i: number): MetricRow {
    return {
      run: this.runs[this.runIndex[i] ?? -1] ?? '',
      metric: this.metrics[this.metricIndex[i] ?? -1] ?? '',
      step: Number(this.steps[i]),
      time: this.times[i] ?? Number.NaN,
      timestamp: Number(this.timestamps[i]),
      value: this.values[i] ?? Number.NaN,
    };
  }

  *rows(): Generator<MetricRow> {
    for (let i = 0; i < this.length; i++) yield this.row(i);
  }

  /**
   * The long table in Arrow: run and metric dictionary-encoded text, step Int64, time Float64, timestamp
   * Timestamp(µs, UTC), value Float64. Needs the optional `apache-arrow` package.
   */
  async toArrow(): Promise<ArrowTable> {
    const arrow = await loadArrow();
    const n = this.length;
    const plain = <T extends import('apache-arrow').DataType>(type: T, data: BigInt64Array | Float64Array) =>
      arrow.makeVector(arrow.makeData({ type, length: n, nullCount: 0, data } as never));
    return new arrow.Table({
      run: dictionaryVector(arrow, this.runs, this.runIndex),
      metric: dictionaryVector(arrow, this.metrics, this.metricIndex),
      step: plain(new arrow.Int64(), this.steps),
      time: plain(new arrow.Float64(), this.times),
      timestamp: plain(new arrow.TimestampMicrosecond('UTC'), this.timestamps),
      value: plain(new arrow.Float64(), this.values),
    });
  }

  #columns(): Column[] {
    const text = (words: string[], index: Int32Array) => Array.from(index, (i) => words[i]);
    return [
      { name: 'run', kind: 'string', values: text(this.runs, this.runIndex) },
      { name: 'metric', kind: 'string', values: text(this.metrics, this.metricIndex) },
      { name: 'step', kind: 'int', values: this.steps },
      { name: 'time', kind: 'float', values: this.times },
      { name: 'timestamp', kind: 'time', values: this.timestamps },
      { name: 'value', kind: 'float', values: this.values },
    ];
  }

  /** CSV with the header run,metric,step,time,timestamp,value; timestamps in ISO 8601. */
  toCsv(): string {
    return joinLines(csvLines(this.#columns(), this.length));
  }

  async writeCsv(target: WriteTarget): Promise<void> {
    await writeLines(target, csvLines(this.#columns(), this.length));
  }

  #jsonRows(): Generator<unknown> {
    const rows = this.rows();
    return (function* () {
      for (const row of rows) yield { ...row, value: jsonNumber(row.value) };
    })();
  }

  /** JSON lines, one point per line; timestamps in microseconds, NaN and infinities as strings. */
  toJsonl(): string {
    return joinLines(jsonLines(this.#jsonRows()));
  }

  async writeJsonl(target: WriteTarget): Promise<void> {
    await writeLines(target, jsonLines(this.#jsonRows()));
  }
}

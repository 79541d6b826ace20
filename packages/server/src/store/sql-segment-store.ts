import type { RunStatus } from '@simscope/protocol';
import type { NewSegment, SegmentRecord, SegmentStore } from './segment-store.js';
import type { SqlDriver, SqlRow } from './sql-driver.js';
import { num, numOrNull, strOrNull } from './sql-rows.js';

function segmentOf(row: SqlRow): SegmentRecord {
  return {
    number: num(row.number),
    jobId: strOrNull(row.job_id),
    host: strOrNull(row.host),
    rewindTo: numOrNull(row.rewind_to),
    startedAt: num(row.started_at),
    endedAt: numOrNull(row.ended_at),
    status: String(row.status) as RunStatus,
  };
}

const RUN_COLUMNS = 'segment, status, created_at, started_at, ended_at, heartbeat_at';

/** Run segments over any SQL driver; a rewind marks the blocks it hides (`metric_blocks.visible_to`). */
export class SqlSegmentStore implements SegmentStore {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  async startSegment(
    runPk: number,
    segment: NewSegment,
  ): Promise<{ segment: SegmentRecord; rewound: number[] }> {
    return this.#db.transaction(async (tx) => {
      const run = await tx.get(`SELECT ${RUN_COLUMNS} FROM runs WHERE pk = ?${tx.dialect.forUpdate}`, [
        runPk,
      ]);
      if (!run) throw new Error(`run ${runPk} is gone`);
      const current = num(run.segment);
      const count = await tx.get('SELECT count(*) AS n FROM run_segments WHERE run_pk = ?', [runPk]);
      if (num(count?.n) === 0) {
        const first = firstSegment(run);
        await tx.run(
          `INSERT INTO run_segments (run_pk, number, started_at, ended_at, status) VALUES (?, ?, ?, ?, ?)`,
          [runPk, current, first.startedAt, first.endedAt, first.status],
        );
      }
      // A segment that never closed ended when it was last heard from; it is lost, the run goes on.
      await tx.run(
        `UPDATE run_segments SET status = 'lost', ended_at = ? WHERE run_pk = ? AND number = ? AND status IN ('running', 'created')`,
        [numOrNull(run.heartbeat_at) ?? segment.at, runPk, current],
      );
      const number = current + 1;
      await tx.run(
        `INSERT INTO run_segments (run_pk, number, job_id, host, rewind_to, started_at, status)
         VALUES (?, ?, ?, ?, ?, ?, 'running')`,
        [runPk, number, segment.jobId, segment.host, segment.rewindTo, segment.at],
      );
      await tx.run(
        `UPDATE runs SET segment = ?, status = 'running', ended_at = NULL, heartbeat_at = ?, abort_at = NULL,
           abort_reason = NULL, started_at = COALESCE(started_at, ?) WHERE pk = ?`,
        [number, segment.at, segment.at, runPk],
      );
      let rewound: number[] = [];
      if (segment.rewindTo !== null) {
        const step = segment.rewindTo;
        const hidden = `series_pk IN (SELECT pk FROM series WHERE run_pk = ?) AND step_max > ?`;
        const rows = await tx.all(`SELECT DISTINCT series_pk FROM metric_blocks WHERE ${hidden}`, [
          runPk,
          step,
        ]);
        rewound = rows.map((r) => num(r.series_pk));
        await tx.run(
          `UPDATE metric_blocks SET visible_to = ? WHERE ${hidden} AND (visible_to IS NULL OR visible_to > ?)`,
          [step, runPk, step, step],
        );
      }
      const row = await tx.get('SELECT * FROM run_segments WHERE run_pk = ? AND number = ?', [runPk, number]);
      if (!row) throw new Error(`segment ${number} of run ${runPk} was not stored`);
      return { segment: segmentOf(row), rewound };
    });
  }

  async listSegments(runPk: number): Promise<SegmentRecord[]> {
    const rows = await this.#db.all('SELECT * FROM run_segments WHERE run_pk = ? ORDER BY number', [runPk]);
    if (rows.length > 0) return rows.map(segmentOf);
    const run = await this.#db.get(`SELECT ${RUN_COLUMNS} FROM runs WHERE pk = ?`, [runPk]);
    return run ? [{ number: num(run.segment), ...firstSegment(run) }] : [];
  }
}

/** Segment 1 as the run itself tells it, before any restart. */
function firstSegment(run: SqlRow): Omit<SegmentRecord, 'number'> {
  return {
    jobId: null,
    host: null,
    rewindTo: null,
    startedAt: numOrNull(run.started_at) ?? num(run.created_at),
    endedAt: numOrNull(run.ended_at),
    status: String(run.status) as RunStatus,
  };
}

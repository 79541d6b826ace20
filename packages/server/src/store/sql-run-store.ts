import { type FilterExpr, type JsonObject, type RunStatus, SimscopeError } from '@simscope/protocol';
import { compileRunFilter, RUN_SORT_SQL } from './run-filter-sql.js';
import type {
  NewRun,
  RunChanges,
  RunColumnStat,
  RunColumns,
  RunQuery,
  RunRecord,
  RunStore,
} from './run-store.js';
import type { SqlDriver, SqlParam, SqlRow } from './sql-driver.js';
import { ensureFolderIn } from './sql-folder-store.js';
import { isUniqueViolation, lastNumber, num, numOrNull, parseJson, strOrNull } from './sql-rows.js';

/** The series column (or expression) behind each summary a run-table metric column can hold. */
const STAT_SQL: Record<RunColumnStat, string> = {
  last: 's.last_value',
  min: 's.min_value',
  max: 's.max_value',
  mean: 'CASE WHEN s.sum_count > 0 THEN s.sum_value / s.sum_count END',
};

/** Runs over any SQL driver. */
export class SqlRunStore implements RunStore {
  readonly #db: SqlDriver;
  readonly #runSelect: string;

  constructor(db: SqlDriver) {
    this.#db = db;
    const d = db.dialect;
    this.#runSelect = `SELECT r.pk, r.id, r.workspace_id, r.name, f.path AS folder, r.user_id, u.name AS user_name,
        r.description, ${d.jsonOut('r.tags')} AS tags, ${d.jsonOut('r.metadata')} AS metadata,
        ${d.jsonOut('r.system')} AS system, r.status, r.created_at, r.started_at, r.ended_at, r.heartbeat_at,
        r.heartbeat_timeout, r.abort_at, r.abort_reason, r.segment
      FROM runs r JOIN folders f ON f.pk = r.folder_pk LEFT JOIN users u ON u.id = r.user_id`;
  }

  #run(row: SqlRow): RunRecord {
    return {
      pk: num(row.pk),
      id: String(row.id),
      workspaceId: String(row.workspace_id),
      name: String(row.name),
      folder: String(row.folder),
      userId: strOrNull(row.user_id),
      userName: strOrNull(row.user_name),
      description: strOrNull(row.description),
      tags: parseJson<string[]>(row.tags, []),
      metadata: parseJson<JsonObject>(row.metadata, {}),
      system: parseJson<JsonObject>(row.system, {}),
      status: String(row.status) as RunStatus,
      createdAt: num(row.created_at),
      startedAt: numOrNull(row.started_at),
      endedAt: numOrNull(row.ended_at),
      heartbeatAt: numOrNull(row.heartbeat_at),
      heartbeatTimeout: numOrNull(row.heartbeat_timeout),
      abortAt: numOrNull(row.abort_at),
      abortReason: strOrNull(row.abort_reason),
      segment: row.segment == null ? 1 : num(row.segment),
    };
  }

  async createRun(run: NewRun): Promise<RunRecord> {
    const d = this.#db.dialect;
    const pk = await this.#db.transaction(async (tx) => {
      const folder = await ensureFolderIn(tx, run.workspaceId, run.folder, run.createdAt);
      try {
        const row = await tx.get(
          `INSERT INTO runs (id, workspace_id, name, folder_pk, user_id, description, tags, metadata, system, status,
             created_at, started_at, heartbeat_at, heartbeat_timeout)
           VALUES (?, ?, ?, ?, ?, ?, ${d.jsonParam()}, ${d.jsonParam()}, ${d.jsonParam()}, ?, ?, ?, ?, ?) RETURNING pk`,
          [
            run.id,
            run.workspaceId,
            run.name,
            folder.pk,
            run.userId,
            run.description,
            JSON.stringify(run.tags),
            JSON.stringify(run.metadata),
            JSON.stringify(run.system),
            run.status,
            run.createdAt,
            run.startedAt,
            run.heartbeatAt,
            run.heartbeatTimeout,
          ],
        );
        return num(row?.pk);
      } catch (error) {
        if (isUniqueViolation(error)) {
          // The unique id is the only other constraint a new run can break.
          if (!/name/.test((error as Error).message)) {
            throw new SimscopeError('conflict', `run id '${run.id}' is taken`, {
              cause: error,
              details: { field: 'id' },
            });
          }
          throw new SimscopeError('conflict', `a run named '${run.name}' already exists in this workspace`, {
            cause: error,
            details: { field: 'name' },
          });
        }
        throw error;
      }
    });
    const created = await this.#getRunByPk(this.#db, pk);
    if (!created) throw new Error(`run ${pk} is missing right after it was written`);
    return created;
  }

  async #getRunByPk(db: SqlDriver, pk: number): Promise<RunRecord | undefined> {
    const row = await db.get(`${this.#runSelect} WHERE r.pk = ?`, [pk]);
    return row && this.#run(row);
  }

  async getRun(workspaceId: string, idOrName: string): Promise<RunRecord | undefined> {
    const row =
      (await this.#db.get(`${this.#runSelect} WHERE r.workspace_id = ? AND r.id = ?`, [
        workspaceId,
        idOrName,
      ])) ??
      (await this.#db.get(`${this.#runSelect} WHERE r.workspace_id = ? AND r.name = ?`, [
        workspaceId,
        idOrName,
      ]));
    return row && this.#run(row);
  }

  async listRuns(workspaceId: string, query: RunQuery): Promise<RunRecord[]> {
    const { sql, params } = this.#runPage(workspaceId, query);
    const rows = await this.#db.all(`${this.#runSelect} ${sql}`, params);
    return rows.map((r) => this.#run(r));
  }

  async runColumns(
    workspaceId: string,
    query: RunQuery,
    include: { metadata: boolean; metrics: readonly string[]; stats?: readonly RunColumnStat[] },
  ): Promise<RunColumns> {
    const d = this.#db.dialect;
    const { sql, params } = this.#runPage(workspaceId, query);
    const from = 'FROM runs r JOIN folders f ON f.pk = r.folder_pk LEFT JOIN users u ON u.id = r.user_id';
    const metricColumns = include.metrics.map(
      (_, i) =>
        `, (SELECT ${STAT_SQL[include.stats?.[i] ?? 'last']} FROM series s WHERE s.run_pk = r.pk AND s.name = ?) AS m${i}`,
    );
    const page = `SELECT r.pk, r.id, r.name, f.path AS folder, u.name AS user_name, r.status, r.created_at,
        r.started_at, CASE WHEN r.status = 'lost' THEN COALESCE(r.heartbeat_at, r.started_at) ELSE r.ended_at END
        AS ended_at, r.tags${include.metadata ? ', r.metadata' : ''}${metricColumns.join('')},
        ${RUN_SORT_SQL[query.sort]} AS sort_key
      ${from} ${sql}`;
    const dir = query.descending ? 'DESC' : 'ASC';
    const agg = (e: string) => d.jsonArrayAgg(e, `p.sort_key ${dir}, p.pk ${dir}`);
    const row = await this.#db.get(
      `SELECT count(*) AS n, ${agg('p.id')} AS id, ${agg('p.name')} AS name, ${agg('p.folder')} AS folder,
        ${agg('p.user_name')} AS user_name, ${agg('p.status')} AS status, ${agg(d.jsonElement('p.tags'))} AS tags,
        ${agg('p.created_at')} AS created, ${agg('p.started_at')} AS started, ${agg('p.ended_at')} AS ended,
        ${include.metadata ? agg(d.jsonElement('p.metadata')) : 'NULL'} AS metadata,
        ${include.metrics.map((_, i) => `${agg(d.jsonNumberElement(`p.m${i}`))} AS m${i}, `).join('')}
        ${agg('p.sort_key')} AS sort_keys, ${agg('p.pk')} AS pks
      FROM (${page}) p`,
      [...include.metrics, ...params],
    );
    if (!row) throw new Error('an aggregate query returned no row');
    const count = num(row.n);
    let more: RunColumns['more'] = null;
    if (count === query.limit) {
      const key =
        query.sort === 'name' || query.sort === 'status'
          ? ((JSON.parse(String(row.sort_keys)) as string[]).at(-1) ?? '')
          : lastNumber(String(row.sort_keys));
      const pk = lastNumber(String(row.pks));
      const rest = this.#runPage(workspaceId, { ...query, after: { key, pk }, limit: 1 });
      if (await this.#db.get(`SELECT r.pk ${from} ${rest.sql}`, rest.params)) more = { key, pk };
    }
    return {
      count,
      id: String(row.id),
      name: String(row.name),
      folder: String(row.folder),
      user: String(row.user_name),
      status: String(row.status),
      tags: String(row.tags),
      created: String(row.created),
      started: String(row.started),
      ended: String(row.ended),
      metadata: include.metadata ? String(row.metadata) : null,
      metrics: include.metrics.map((_, i) => String(row[`m${i}`])),
      more,
    };
  }

  async folderCounts(
    workspaceId: string,
    where: FilterExpr | null,
    now: number,
  ): Promise<{ path: string; runs: number }[]> {
    const conditions = ['r.workspace_id = ?'];
    const params: SqlParam[] = [workspaceId];
    if (where) {
      const filter = compileRunFilter(where, this.#db.dialect, now);
      conditions.push(filter.sql);
      params.push(...filter.params);
    }
    const rows = await this.#db.all(
      `SELECT f.path AS path, count(*) AS n FROM runs r JOIN folders f ON f.pk = r.folder_pk
        WHERE ${conditions.join(' AND ')} GROUP BY f.path ORDER BY f.path`,
      params,
    );
    return rows.map((r) => ({ path: String(r.path), runs: num(r.n) }));
  }

  /** WHERE, ORDER BY and LIMIT of a page of runs. */
  #runPage(workspaceId: string, query: RunQuery): { sql: string; params: SqlParam[] } {
    const where = ['r.workspace_id = ?'];
    const params: SqlParam[] = [workspaceId];
    if (query.where) {
      const filter = compileRunFilter(query.where, this.#db.dialect, query.now);
      where.push(filter.sql);
      params.push(...filter.params);
    }
    const key = RUN_SORT_SQL[query.sort];
    const dir = query.descending ? 'DESC' : 'ASC';
    if (query.after) {
      where.push(`(${key}, r.pk) ${query.descending ? '<' : '>'} (?, ?)`);
      params.push(query.after.key, query.after.pk);
    }
    params.push(query.limit);
    return { sql: `WHERE ${where.join(' AND ')} ORDER BY ${key} ${dir}, r.pk ${dir} LIMIT ?`, params };
  }

  async updateRun(workspaceId: string, pk: number, changes: RunChanges, at: number): Promise<RunRecord> {
    const d = this.#db.dialect;
    return this.#db.transaction(async (tx) => {
      const sets: string[] = [];
      const params: SqlParam[] = [];
      const set = (column: string, value: SqlParam, json = false) => {
        sets.push(`${column} = ${json ? d.jsonParam() : '?'}`);
        params.push(value);
      };
      if (changes.folder !== undefined) {
        const folder = await ensureFolderIn(tx, workspaceId, changes.folder, at);
        set('folder_pk', folder.pk);
      }
      if (changes.name !== undefined) set('name', changes.name);
      if (changes.description !== undefined) set('description', changes.description);
      if (changes.tags !== undefined) set('tags', JSON.stringify(changes.tags), true);
      if (changes.metadata !== undefined) set('metadata', JSON.stringify(changes.metadata), true);
      if (changes.system !== undefined) set('system', JSON.stringify(changes.system), true);
      if (changes.status !== undefined) set('status', changes.status);
      if (changes.startedAt !== undefined) set('started_at', changes.startedAt);
      if (changes.endedAt !== undefined) set('ended_at', changes.endedAt);
      if (changes.heartbeatAt !== undefined) set('heartbeat_at', changes.heartbeatAt);
      if (changes.heartbeatTimeout !== undefined) set('heartbeat_timeout', changes.heartbeatTimeout);
      if (changes.abortAt !== undefined) set('abort_at', changes.abortAt);
      if (changes.abortReason !== undefined) set('abort_reason', changes.abortReason);
      if (sets.length > 0) {
        try {
          await tx.run(`UPDATE runs SET ${sets.join(', ')} WHERE workspace_id = ? AND pk = ?`, [
            ...params,
            workspaceId,
            pk,
          ]);
          if (changes.status !== undefined) await syncSegmentStatus(tx, pk, at);
        } catch (error) {
          if (isUniqueViolation(error)) {
            throw new SimscopeError(
              'conflict',
              `a run named '${changes.name}' already exists in this workspace`,
              {
                cause: error,
                details: { field: 'name' },
              },
            );
          }
          throw error;
        }
      }
      const run = await this.#getRunByPk(tx, pk);
      if (!run || run.workspaceId !== workspaceId) throw new SimscopeError('not_found', 'run not found');
      return run;
    });
  }

  async deleteRun(workspaceId: string, pk: number): Promise<boolean> {
    return (await this.#db.run('DELETE FROM runs WHERE workspace_id = ? AND pk = ?', [workspaceId, pk])) > 0;
  }

  async markLostRuns(now: number): Promise<RunRecord[]> {
    return this.#db.transaction(async (tx) => {
      // One statement re-checks the deadline as it updates, so a heartbeat that lands meanwhile keeps its run.
      const marked = await tx.all(
        `UPDATE runs SET status = 'lost' WHERE status = 'running' AND heartbeat_timeout IS NOT NULL
           AND COALESCE(heartbeat_at, started_at, created_at) + heartbeat_timeout * 1000000 < ? RETURNING pk`,
        [now],
      );
      const runs: RunRecord[] = [];
      for (const row of marked) await syncSegmentStatus(tx, num(row.pk), now);
      for (const row of marked) {
        const run = await this.#getRunByPk(tx, num(row.pk));
        if (run) runs.push(run);
      }
      return runs;
    });
  }
}

/** The run's current segment (where it has segment rows) takes the run's status, and ends when that is final. */
async function syncSegmentStatus(tx: SqlDriver, runPk: number, at: number): Promise<void> {
  await tx.run(
    `UPDATE run_segments SET status = (SELECT status FROM runs WHERE pk = ?),
       ended_at = CASE WHEN (SELECT status FROM runs WHERE pk = ?) IN ('running', 'created') THEN NULL
         ELSE COALESCE(ended_at, ?) END
     WHERE run_pk = ? AND number = (SELECT segment FROM runs WHERE pk = ?)`,
    [runPk, runPk, at, runPk, runPk],
  );
}

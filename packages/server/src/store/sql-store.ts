import { randomBytes } from 'node:crypto';
import {
  type ArtifactCategory,
  type EventLevel,
  type MetricSeries,
  type RunStatus,
  SimscopeError,
  type TokenScope,
} from '@simscope/protocol';
import type { AlertStore } from './alert-store.js';
import type {
  ArtifactQuery,
  ArtifactRecord,
  FreeBlobResult,
  NewArtifact,
  SaveArtifactOptions,
} from './artifact-store.js';
import { BlockCache } from './block-cache.js';
import {
  BLOCK_POINTS,
  concatPoints,
  encodeBlock,
  float64Column,
  integerColumn,
  MERGE_BELOW,
  splitPoints,
  stepColumn,
  summarise,
  timeColumn,
} from './metric-block-codec.js';
import { fillPoints } from './metric-fill.js';
import { applyMigrations } from './migrations.js';
import { compileRunFilter, RUN_SORT_SQL } from './run-filter-sql.js';
import { SqlAlertStore } from './sql-alert-store.js';
import type { SqlDriver, SqlParam, SqlRow } from './sql-driver.js';
import { SqlTelemetryStore } from './sql-telemetry-store.js';
import {
  type BatchKey,
  BLOCK_COLUMNS,
  type Block,
  type BlockColumn,
  type BlockIndexEntry,
  type EventQuery,
  type EventRecord,
  type FolderQuery,
  type FolderRecord,
  type JsonObject,
  type MetricClock,
  type NewEvent,
  type NewRun,
  type Points,
  type RunChanges,
  type RunColumns,
  type RunQuery,
  type RunRecord,
  type SeriesListQuery,
  type SeriesRecord,
  type Store,
  type TokenRecord,
  type UserRecord,
  type WorkspaceRecord,
} from './store.js';
import type { TelemetryStore } from './telemetry-store.js';

type Row = SqlRow;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
/** The last element of a JSON array of numbers (no need to parse the rest). */
const lastNumber = (array: string): number =>
  Number(array.slice(Math.max(array.lastIndexOf(','), 0) + 1, -1));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const nanToNull = (v: number | null): number | null => (v === null || Number.isNaN(v) ? null : v);

function parseJson<T>(v: unknown, fallback: T): T {
  if (v === null || v === undefined) return fallback;
  return JSON.parse(String(v)) as T;
}

function newFolderId(): string {
  return randomBytes(12).toString('base64url');
}

/** True for a unique-constraint violation from either backend. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

const EMPTY = new Float64Array(0);
const BLOB_COLUMN: Record<BlockColumn, string> = {
  steps: 'steps',
  times: 'times',
  timestamps: 'timestamps',
  values: 'vals',
};

const AXIS_COLUMNS = {
  step: ['step_min', 'step_max'],
  time: ['time_min', 'time_max'],
  timestamp: ['ts_min', 'ts_max'],
} as const;

/** The store over any SQL driver; `SqliteStore` and `PostgresStore` give it their driver. */
export abstract class SqlStore implements Store {
  abstract readonly backend: 'sqlite' | 'postgres';
  protected readonly db: SqlDriver;
  readonly alerts: AlertStore;
  readonly telemetry: TelemetryStore;
  readonly #runSelect: string;
  readonly #folderSelect: string;
  readonly #cache: BlockCache;

  constructor(db: SqlDriver, options: { cacheBytes?: number } = {}) {
    this.db = db;
    this.alerts = new SqlAlertStore(db);
    this.telemetry = new SqlTelemetryStore(db);
    this.#cache = new BlockCache(options.cacheBytes ?? 256 * 1024 * 1024);
    const d = db.dialect;
    this.#runSelect = `SELECT r.pk, r.id, r.workspace_id, r.name, f.path AS folder, r.user_id, u.name AS user_name,
        r.description, ${d.jsonOut('r.tags')} AS tags, ${d.jsonOut('r.metadata')} AS metadata,
        ${d.jsonOut('r.system')} AS system, r.status, r.created_at, r.started_at, r.ended_at, r.heartbeat_at,
        r.heartbeat_timeout, r.abort_at, r.abort_reason
      FROM runs r JOIN folders f ON f.pk = r.folder_pk LEFT JOIN users u ON u.id = r.user_id`;
    this.#folderSelect = `SELECT pk, id, workspace_id, path, parent_pk, description, ${d.jsonOut('tags')} AS tags,
        ${d.jsonOut('metadata')} AS metadata, created_at FROM folders`;
  }

  async migrate(): Promise<void> {
    await applyMigrations(this.db);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // Users, workspaces, tokens

  async countUsers(): Promise<number> {
    const row = await this.db.get('SELECT COUNT(*) AS n FROM users');
    return num(row?.n);
  }

  async createUser(user: UserRecord): Promise<void> {
    await this.db.run('INSERT INTO users (id, name, email, is_admin, created_at) VALUES (?, ?, ?, ?, ?)', [
      user.id,
      user.name,
      user.email,
      user.isAdmin ? 1 : 0,
      user.createdAt,
    ]);
  }

  #user(row: Row): UserRecord {
    return {
      id: String(row.id),
      name: String(row.name),
      email: strOrNull(row.email),
      isAdmin: num(row.is_admin) === 1,
      createdAt: num(row.created_at),
    };
  }

  async getUser(idOrName: string): Promise<UserRecord | undefined> {
    const row = await this.db.get(
      'SELECT * FROM users WHERE id = ? OR name = ? ORDER BY (id = ?) DESC LIMIT 1',
      [idOrName, idOrName, idOrName],
    );
    return row && this.#user(row);
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.db.all('SELECT * FROM users ORDER BY created_at, id')).map((r) => this.#user(r));
  }

  async deleteUser(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM users WHERE id = ?', [id])) > 0;
  }

  #workspace(row: Row): WorkspaceRecord {
    return { id: String(row.id), name: String(row.name), createdAt: num(row.created_at) };
  }

  async createWorkspace(workspace: WorkspaceRecord): Promise<void> {
    await this.db.run('INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)', [
      workspace.id,
      workspace.name,
      workspace.createdAt,
    ]);
  }

  async getWorkspace(idOrName: string): Promise<WorkspaceRecord | undefined> {
    const row = await this.db.get(
      'SELECT * FROM workspaces WHERE id = ? OR name = ? ORDER BY (id = ?) DESC LIMIT 1',
      [idOrName, idOrName, idOrName],
    );
    return row && this.#workspace(row);
  }

  async listWorkspaces(): Promise<WorkspaceRecord[]> {
    return (await this.db.all('SELECT * FROM workspaces ORDER BY created_at, id')).map((r) =>
      this.#workspace(r),
    );
  }

  async deleteWorkspace(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM workspaces WHERE id = ?', [id])) > 0;
  }

  async addMember(workspaceId: string, userId: string, at: number): Promise<void> {
    await this.db.run(
      'INSERT INTO memberships (workspace_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      [workspaceId, userId, at],
    );
  }

  async removeMember(workspaceId: string, userId: string): Promise<boolean> {
    return (
      (await this.db.run('DELETE FROM memberships WHERE workspace_id = ? AND user_id = ?', [
        workspaceId,
        userId,
      ])) > 0
    );
  }

  async listMembers(workspaceId: string): Promise<UserRecord[]> {
    const rows = await this.db.all(
      'SELECT u.* FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.workspace_id = ? ORDER BY m.created_at, u.id',
      [workspaceId],
    );
    return rows.map((r) => this.#user(r));
  }

  async listUserWorkspaces(userId: string): Promise<WorkspaceRecord[]> {
    const rows = await this.db.all(
      'SELECT w.* FROM workspaces w JOIN memberships m ON m.workspace_id = w.id WHERE m.user_id = ? ORDER BY m.created_at, w.id',
      [userId],
    );
    return rows.map((r) => this.#workspace(r));
  }

  #token(row: Row): TokenRecord {
    return {
      id: String(row.id),
      userId: String(row.user_id),
      name: String(row.name),
      scopes: String(row.scopes).split(',') as TokenScope[],
      createdAt: num(row.created_at),
      expiresAt: numOrNull(row.expires_at),
      revokedAt: numOrNull(row.revoked_at),
    };
  }

  async createToken(token: TokenRecord, hash: string): Promise<void> {
    await this.db.run(
      'INSERT INTO tokens (id, user_id, name, hash, scopes, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [
        token.id,
        token.userId,
        token.name,
        hash,
        token.scopes.join(','),
        token.createdAt,
        token.expiresAt,
        token.revokedAt,
      ],
    );
  }

  async findToken(hash: string): Promise<{ token: TokenRecord; user: UserRecord } | undefined> {
    const row = await this.db.get(
      `SELECT t.id, t.user_id, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at,
         u.name AS user_name, u.email AS user_email, u.is_admin AS user_is_admin, u.created_at AS user_created_at
       FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`,
      [hash],
    );
    if (!row) return undefined;
    return {
      token: this.#token(row),
      user: this.#user({
        id: row.user_id,
        name: row.user_name,
        email: row.user_email,
        is_admin: row.user_is_admin,
        created_at: row.user_created_at,
      }),
    };
  }

  async listTokens(userId: string | null): Promise<TokenRecord[]> {
    const rows = userId
      ? await this.db.all('SELECT * FROM tokens WHERE user_id = ? ORDER BY created_at, id', [userId])
      : await this.db.all('SELECT * FROM tokens ORDER BY created_at, id');
    return rows.map((r) => this.#token(r));
  }

  async revokeToken(id: string, at: number): Promise<boolean> {
    return (
      (await this.db.run('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])) >
      0
    );
  }

  // Folders

  #folder(row: Row): FolderRecord {
    return {
      pk: num(row.pk),
      id: String(row.id),
      workspaceId: String(row.workspace_id),
      path: String(row.path),
      parentPk: numOrNull(row.parent_pk),
      description: strOrNull(row.description),
      tags: parseJson<string[]>(row.tags, []),
      metadata: parseJson<JsonObject>(row.metadata, {}),
      createdAt: num(row.created_at),
    };
  }

  async ensureFolder(workspaceId: string, path: string, at: number): Promise<FolderRecord> {
    return this.db.transaction((tx) => this.#ensureFolder(tx, workspaceId, path, at));
  }

  async #ensureFolder(tx: SqlDriver, workspaceId: string, path: string, at: number): Promise<FolderRecord> {
    const existing = await tx.get(`${this.#folderSelect} WHERE workspace_id = ? AND path = ?`, [
      workspaceId,
      path,
    ]);
    if (existing) return this.#folder(existing);
    const d = tx.dialect;
    const segments = path === '/' ? [] : path.slice(1).split('/');
    let parentPk: number | null = null;
    for (let depth = 0; depth <= segments.length; depth++) {
      const prefix = `/${segments.slice(0, depth).join('/')}`;
      await tx.run(
        `INSERT INTO folders (id, workspace_id, path, parent_pk, description, tags, metadata, created_at)
         VALUES (?, ?, ?, ?, NULL, ${d.jsonParam()}, ${d.jsonParam()}, ?) ON CONFLICT (workspace_id, path) DO NOTHING`,
        [newFolderId(), workspaceId, prefix, parentPk, '[]', '{}', at],
      );
      const row = await tx.get('SELECT pk FROM folders WHERE workspace_id = ? AND path = ?', [
        workspaceId,
        prefix,
      ]);
      parentPk = num(row?.pk);
    }
    const row = await tx.get(`${this.#folderSelect} WHERE workspace_id = ? AND path = ?`, [
      workspaceId,
      path,
    ]);
    return this.#folder(row!);
  }

  async getFolder(workspaceId: string, idOrPath: string): Promise<FolderRecord | undefined> {
    const row = await this.db.get(`${this.#folderSelect} WHERE workspace_id = ? AND (id = ? OR path = ?)`, [
      workspaceId,
      idOrPath,
      idOrPath,
    ]);
    return row && this.#folder(row);
  }

  async listFolders(workspaceId: string, query: FolderQuery): Promise<FolderRecord[]> {
    const where = ['workspace_id = ?'];
    const params: SqlParam[] = [workspaceId];
    if (query.parent !== null) {
      where.push('parent_pk = (SELECT pk FROM folders WHERE workspace_id = ? AND path = ?)');
      params.push(workspaceId, query.parent);
    }
    if (query.prefix !== null && query.prefix !== '/') {
      where.push('(path = ? OR substr(path, 1, ?) = ?)');
      params.push(query.prefix, query.prefix.length + 1, `${query.prefix}/`);
    }
    if (query.after !== null) {
      where.push('path > ?');
      params.push(query.after);
    }
    params.push(query.limit);
    const rows = await this.db.all(
      `${this.#folderSelect} WHERE ${where.join(' AND ')} ORDER BY path LIMIT ?`,
      params,
    );
    return rows.map((r) => this.#folder(r));
  }

  async updateFolder(
    workspaceId: string,
    pk: number,
    changes: { description?: string | null; tags?: string[]; metadata?: JsonObject },
  ): Promise<void> {
    const d = this.db.dialect;
    const sets: string[] = [];
    const params: SqlParam[] = [];
    if (changes.description !== undefined) {
      sets.push('description = ?');
      params.push(changes.description);
    }
    if (changes.tags !== undefined) {
      sets.push(`tags = ${d.jsonParam()}`);
      params.push(JSON.stringify(changes.tags));
    }
    if (changes.metadata !== undefined) {
      sets.push(`metadata = ${d.jsonParam()}`);
      params.push(JSON.stringify(changes.metadata));
    }
    if (sets.length === 0) return;
    await this.db.run(`UPDATE folders SET ${sets.join(', ')} WHERE workspace_id = ? AND pk = ?`, [
      ...params,
      workspaceId,
      pk,
    ]);
  }

  #subtree(folder: FolderRecord): { sql: string; params: SqlParam[] } {
    if (folder.path === '/') return { sql: 'workspace_id = ?', params: [folder.workspaceId] };
    return {
      sql: 'workspace_id = ? AND (path = ? OR substr(path, 1, ?) = ?)',
      params: [folder.workspaceId, folder.path, folder.path.length + 1, `${folder.path}/`],
    };
  }

  async folderIsEmpty(workspaceId: string, folder: FolderRecord): Promise<boolean> {
    const child = await this.db.get(
      'SELECT 1 AS x FROM folders WHERE workspace_id = ? AND parent_pk = ? LIMIT 1',
      [workspaceId, folder.pk],
    );
    if (child) return false;
    const run = await this.db.get(
      'SELECT 1 AS x FROM runs WHERE workspace_id = ? AND folder_pk = ? LIMIT 1',
      [workspaceId, folder.pk],
    );
    return !run;
  }

  async deleteFolder(workspaceId: string, folder: FolderRecord, recursive: boolean): Promise<number> {
    if (folder.workspaceId !== workspaceId) return 0;
    return this.db.transaction(async (tx) => {
      const tree = recursive
        ? this.#subtree(folder)
        : { sql: 'workspace_id = ? AND pk = ?', params: [workspaceId, folder.pk] };
      const counted = await tx.get(
        `SELECT COUNT(*) AS n FROM runs WHERE folder_pk IN (SELECT pk FROM folders WHERE ${tree.sql})`,
        tree.params,
      );
      await tx.run(
        `DELETE FROM runs WHERE folder_pk IN (SELECT pk FROM folders WHERE ${tree.sql})`,
        tree.params,
      );
      if (folder.path === '/') {
        await tx.run("DELETE FROM folders WHERE workspace_id = ? AND path <> '/'", [workspaceId]);
      } else {
        await tx.run(`DELETE FROM folders WHERE ${tree.sql}`, tree.params);
      }
      return num(counted?.n);
    });
  }

  // Runs

  #run(row: Row): RunRecord {
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
    };
  }

  async createRun(run: NewRun): Promise<RunRecord> {
    const d = this.db.dialect;
    const pk = await this.db.transaction(async (tx) => {
      const folder = await this.#ensureFolder(tx, run.workspaceId, run.folder, run.createdAt);
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
    return (await this.#getRunByPk(this.db, pk))!;
  }

  async #getRunByPk(db: SqlDriver, pk: number): Promise<RunRecord | undefined> {
    const row = await db.get(`${this.#runSelect} WHERE r.pk = ?`, [pk]);
    return row && this.#run(row);
  }

  async getRun(workspaceId: string, idOrName: string): Promise<RunRecord | undefined> {
    const row =
      (await this.db.get(`${this.#runSelect} WHERE r.workspace_id = ? AND r.id = ?`, [
        workspaceId,
        idOrName,
      ])) ??
      (await this.db.get(`${this.#runSelect} WHERE r.workspace_id = ? AND r.name = ?`, [
        workspaceId,
        idOrName,
      ]));
    return row && this.#run(row);
  }

  async listRuns(workspaceId: string, query: RunQuery): Promise<RunRecord[]> {
    const { sql, params } = this.#runPage(workspaceId, query);
    const rows = await this.db.all(`${this.#runSelect} ${sql}`, params);
    return rows.map((r) => this.#run(r));
  }

  async runColumns(
    workspaceId: string,
    query: RunQuery,
    include: { metadata: boolean; metrics: readonly string[] },
  ): Promise<RunColumns> {
    const d = this.db.dialect;
    const { sql, params } = this.#runPage(workspaceId, query);
    const from = 'FROM runs r JOIN folders f ON f.pk = r.folder_pk LEFT JOIN users u ON u.id = r.user_id';
    const metricColumns = include.metrics.map(
      (_, i) => `, (SELECT s.last_value FROM series s WHERE s.run_pk = r.pk AND s.name = ?) AS m${i}`,
    );
    const page = `SELECT r.pk, r.id, r.name, f.path AS folder, u.name AS user_name, r.status, r.created_at,
        r.started_at, r.ended_at, r.tags${include.metadata ? ', r.metadata' : ''}${metricColumns.join('')},
        ${RUN_SORT_SQL[query.sort]} AS sort_key
      ${from} ${sql}`;
    const dir = query.descending ? 'DESC' : 'ASC';
    const agg = (e: string) => d.jsonArrayAgg(e, `p.sort_key ${dir}, p.pk ${dir}`);
    const row = await this.db.get(
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
          ? (JSON.parse(String(row.sort_keys)) as string[]).at(-1)!
          : lastNumber(String(row.sort_keys));
      const pk = lastNumber(String(row.pks));
      const rest = this.#runPage(workspaceId, { ...query, after: { key, pk }, limit: 1 });
      if (await this.db.get(`SELECT r.pk ${from} ${rest.sql}`, rest.params)) more = { key, pk };
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

  /** WHERE, ORDER BY and LIMIT of a page of runs. */
  #runPage(workspaceId: string, query: RunQuery): { sql: string; params: SqlParam[] } {
    const where = ['r.workspace_id = ?'];
    const params: SqlParam[] = [workspaceId];
    if (query.where) {
      const filter = compileRunFilter(query.where, this.db.dialect, query.now);
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
    const d = this.db.dialect;
    return this.db.transaction(async (tx) => {
      const sets: string[] = [];
      const params: SqlParam[] = [];
      const set = (column: string, value: SqlParam, json = false) => {
        sets.push(`${column} = ${json ? d.jsonParam() : '?'}`);
        params.push(value);
      };
      if (changes.folder !== undefined) {
        const folder = await this.#ensureFolder(tx, workspaceId, changes.folder, at);
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
    return (await this.db.run('DELETE FROM runs WHERE workspace_id = ? AND pk = ?', [workspaceId, pk])) > 0;
  }

  async markLostRuns(now: number): Promise<RunRecord[]> {
    return this.db.transaction(async (tx) => {
      // One statement re-checks the deadline as it updates, so a heartbeat that lands meanwhile keeps its run.
      const marked = await tx.all(
        `UPDATE runs SET status = 'lost' WHERE status = 'running' AND heartbeat_timeout IS NOT NULL
           AND COALESCE(heartbeat_at, started_at, created_at) + heartbeat_timeout * 1000000 < ? RETURNING pk`,
        [now],
      );
      const runs: RunRecord[] = [];
      for (const row of marked) {
        const run = await this.#getRunByPk(tx, num(row.pk));
        if (run) runs.push(run);
      }
      return runs;
    });
  }

  // Metrics

  async #claimBatch(tx: SqlDriver, runPk: number, kind: string, key: BatchKey): Promise<boolean> {
    const inserted = await tx.run(
      'INSERT INTO ingest_batches (run_pk, writer, kind, seq) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [runPk, key.writer, kind, key.seq],
    );
    return inserted > 0;
  }

  #series(row: Row): SeriesRecord {
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
    const names = series.map((s) => s.name);
    return this.db.transaction(async (tx) => {
      if (!(await this.#claimBatch(tx, runPk, 'metrics', key))) return false;
      // Series are locked in name order so that concurrent batches over the same series cannot deadlock.
      const order = names
        .map((_, i) => i)
        .sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : a - b));
      for (const i of order) {
        const name = names[i]!;
        const select = `SELECT * FROM series WHERE run_pk = ? AND name = ?${tx.dialect.forUpdate}`;
        let row = await tx.get(select, [runPk, name]);
        if (!row) {
          await tx.run(
            'INSERT INTO series (run_pk, name, count) VALUES (?, ?, 0) ON CONFLICT (run_pk, name) DO NOTHING',
            [runPk, name],
          );
          row = await tx.get(select, [runPk, name]);
        }
        const stored = this.#series(row!);
        const points = fillPoints(series[i]!, stored.lastStep, clock.startedAt, clock.now);
        if (points.values.length === 0) continue;
        await this.#appendPoints(tx, stored, points);
      }
      return true;
    });
  }

  async #appendPoints(tx: SqlDriver, series: SeriesRecord, points: Points): Promise<void> {
    const summary = summarise(points);
    let toStore = points;
    let replaced: number | null = null;
    if (points.values.length < MERGE_BELOW) {
      const last = await tx.get(
        'SELECT pk, n FROM metric_blocks WHERE series_pk = ? ORDER BY pk DESC LIMIT 1',
        [series.pk],
      );
      if (last && num(last.n) < MERGE_BELOW && num(last.n) + points.values.length <= BLOCK_POINTS) {
        const [block] = await this.#selectBlocks(tx, 'WHERE pk = ?', [num(last.pk)]);
        if (block) {
          toStore = concatPoints(block, points);
          replaced = block.pk;
        }
      }
    }
    for (const piece of splitPoints(toStore)) {
      const b = encodeBlock(piece);
      await tx.run(
        `INSERT INTO metric_blocks (series_pk, n, step_min, step_max, step_stride, time_min, time_max, ts_min, ts_max,
           time_origin, steps, times, timestamps, vals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
        ],
      );
    }
    if (replaced !== null) await tx.run('DELETE FROM metric_blocks WHERE pk = ?', [replaced]);
    const i = summary.lastIndex;
    const lastStep = points.steps[i]!;
    const newer = series.lastStep === null || lastStep >= series.lastStep;
    const min =
      summary.min === null
        ? series.minValue
        : series.minValue === null
          ? summary.min
          : Math.min(summary.min, series.minValue);
    const max =
      summary.max === null
        ? series.maxValue
        : series.maxValue === null
          ? summary.max
          : Math.max(summary.max, series.maxValue);
    await tx.run(
      `UPDATE series SET count = count + ?, min_value = ?, max_value = ?,
         last_step = ?, last_time = ?, last_timestamp = ?, last_value = ? WHERE pk = ?`,
      [
        points.values.length,
        nanToNull(min),
        nanToNull(max),
        newer ? lastStep : series.lastStep,
        newer ? points.times[i]! : series.lastTime,
        newer ? points.timestamps[i]! : series.lastTimestamp,
        newer ? nanToNull(points.values[i]!) : series.lastValue,
        series.pk,
      ],
    );
  }

  async #selectBlocks(
    db: SqlDriver,
    where: string,
    params: SqlParam[],
    columns: readonly BlockColumn[] = BLOCK_COLUMNS,
  ): Promise<Block[]> {
    const want: BlockColumn[] = [...new Set<BlockColumn>([...columns, 'values'])];
    // Derived times are recomputed from the timestamps, so asking for times reads those too.
    if (want.includes('times') && !want.includes('timestamps')) want.push('timestamps');
    const metas = await db.all(
      `SELECT pk, n, step_min, step_stride, ts_min, time_origin FROM metric_blocks ${where}`,
      params,
    );
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
        const cached = found.get(pk)!;
        const meta = metaByPk.get(pk)!;
        const n = num(meta.n);
        const raw = (column: BlockColumn) => row[BLOB_COLUMN[column]] as Uint8Array | null;
        // Timestamps first: derived times need them.
        for (const column of ['timestamps', 'steps', 'values', 'times'] as const) {
          if (!want.includes(column) || cached[column]) continue;
          let data: Float64Array;
          if (column === 'steps')
            data = stepColumn(raw('steps'), n, num(meta.step_min), numOrNull(meta.step_stride));
          else if (column === 'timestamps') data = integerColumn(raw('timestamps')!, n, num(meta.ts_min));
          else if (column === 'times')
            data = timeColumn(raw('times'), cached.timestamps!, numOrNull(meta.time_origin));
          else data = float64Column(raw('values')!);
          cached[column] = data;
          this.#cache.set(pk, column, data);
        }
      }
    }
    return metas.map((meta) => {
      const pk = num(meta.pk);
      const c = found.get(pk)!;
      return {
        pk,
        steps: c.steps ?? EMPTY,
        times: c.times ?? EMPTY,
        timestamps: c.timestamps ?? EMPTY,
        values: c.values ?? EMPTY,
        timeOrigin: numOrNull(meta.time_origin),
      };
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
      where.push(this.db.dialect.ilike('name'));
      params.push(`%${query.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    if (query.regex != null) {
      where.push(this.db.dialect.regex('name'));
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
    const rows = await this.db.all(
      `SELECT * FROM series WHERE ${where.join(' AND ')} ORDER BY name${limit}`,
      params,
    );
    return rows.map((r) => this.#series(r));
  }

  async metricNames(workspaceId: string, limit: number): Promise<string[]> {
    const rows = await this.db.all(
      `SELECT DISTINCT s.name FROM runs r JOIN series s ON s.run_pk = r.pk
       WHERE r.workspace_id = ? ORDER BY s.name LIMIT ?`,
      [workspaceId, limit],
    );
    return rows.map((r) => String(r.name));
  }

  async getSeries(runPk: number, name: string): Promise<SeriesRecord | undefined> {
    const row = await this.db.get('SELECT * FROM series WHERE run_pk = ? AND name = ?', [runPk, name]);
    return row && this.#series(row);
  }

  readBlocks(
    seriesPk: number,
    axis: 'step' | 'time' | 'timestamp',
    from: number,
    to: number,
    columns: readonly BlockColumn[] = BLOCK_COLUMNS,
  ): Promise<Block[]> {
    const [lo, hi] = AXIS_COLUMNS[axis];
    return this.#selectBlocks(
      this.db,
      `WHERE series_pk = ? AND ${hi} >= ? AND ${lo} < ? ORDER BY ${lo}, pk`,
      [seriesPk, from, to],
      columns,
    );
  }

  async axisRange(seriesPk: number, axis: 'step' | 'time' | 'timestamp'): Promise<[number, number] | null> {
    const [lo, hi] = AXIS_COLUMNS[axis];
    const row = await this.db.get(
      `SELECT min(${lo}) AS lo, max(${hi}) AS hi FROM metric_blocks WHERE series_pk = ?`,
      [seriesPk],
    );
    return row && row.lo !== null && row.lo !== undefined ? [num(row.lo), num(row.hi)] : null;
  }

  async blockIndex(
    seriesPk: number,
    axis: 'step' | 'time' | 'timestamp',
    from: number,
    to: number,
  ): Promise<BlockIndexEntry[]> {
    const [lo, hi] = AXIS_COLUMNS[axis];
    const rows = await this.db.all(
      `SELECT pk, n, ${lo} AS lo, ${hi} AS hi FROM metric_blocks
       WHERE series_pk = ? AND ${hi} >= ? AND ${lo} < ? ORDER BY ${lo}, pk`,
      [seriesPk, from, to],
    );
    return rows.map((r) => ({ pk: num(r.pk), points: num(r.n), lo: num(r.lo), hi: num(r.hi) }));
  }

  async readBlocksByPk(
    pks: readonly number[],
    columns: readonly BlockColumn[] = BLOCK_COLUMNS,
  ): Promise<Block[]> {
    if (pks.length === 0) return [];
    const blocks = await this.#selectBlocks(
      this.db,
      `WHERE pk IN (${pks.map(() => '?').join(', ')})`,
      [...pks],
      columns,
    );
    const byPk = new Map(blocks.map((b) => [b.pk, b]));
    return pks.flatMap((pk) => byPk.get(pk) ?? []);
  }

  // Events

  async appendEvents(runPk: number, key: BatchKey, events: readonly NewEvent[]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      if (!(await this.#claimBatch(tx, runPk, 'events', key))) return false;
      const chunk = 500;
      for (let start = 0; start < events.length; start += chunk) {
        const part = events.slice(start, start + chunk);
        const params: SqlParam[] = [];
        for (const e of part) params.push(runPk, e.timestamp, e.level, e.message);
        await tx.run(
          `INSERT INTO events (run_pk, ts, level, message) VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')}`,
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
      where.push(this.db.dialect.ilike('message'));
      params.push(`%${query.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    const dir = query.descending ? 'DESC' : 'ASC';
    if (query.after) {
      where.push(`(ts, pk) ${query.descending ? '<' : '>'} (?, ?)`);
      params.push(query.after.timestamp, query.after.pk);
    }
    params.push(query.limit);
    const rows = await this.db.all(
      `SELECT pk, ts, level, message FROM events WHERE ${where.join(' AND ')} ORDER BY ts ${dir}, pk ${dir} LIMIT ?`,
      params,
    );
    return rows.map((r) => ({
      pk: num(r.pk),
      timestamp: num(r.ts),
      level: String(r.level) as EventLevel,
      message: String(r.message),
    }));
  }

  // Artifacts

  #artifact(row: Row): ArtifactRecord {
    return {
      pk: num(row.pk),
      runPk: num(row.run_pk),
      workspaceId: String(row.workspace_id),
      name: String(row.name),
      category: String(row.category) as ArtifactCategory,
      mimeType: String(row.mime_type),
      size: num(row.size),
      sha256: String(row.sha256),
      metadata: parseJson<JsonObject>(row.metadata, {}),
      createdAt: num(row.created_at),
    };
  }

  #artifactSelect(d: SqlDriver['dialect']): string {
    return `SELECT pk, run_pk, workspace_id, name, category, mime_type, size, sha256,
      ${d.jsonOut('metadata')} AS metadata, created_at FROM artifacts`;
  }

  async #artifactBytes(db: SqlDriver, workspaceId: string): Promise<number> {
    const row = await db.get(
      `SELECT COALESCE(SUM(size), 0) AS n FROM blobs
       WHERE sha256 IN (SELECT sha256 FROM artifacts WHERE workspace_id = ?)`,
      [workspaceId],
    );
    return num(row?.n);
  }

  async saveArtifact(
    artifact: NewArtifact,
    options: SaveArtifactOptions,
  ): Promise<{ artifact: ArtifactRecord; replaced: ArtifactRecord | null }> {
    const d = this.db.dialect;
    const lock = d.forUpdate;
    return this.db.transaction(async (tx) => {
      // Saves into one workspace take turns when a quota applies, so that two cannot both fit the last bytes.
      if (options.quota !== null && lock) {
        await tx.get(`SELECT id FROM workspaces WHERE id = ?${lock}`, [artifact.workspaceId]);
      }
      const previousRow = await tx.get(`${this.#artifactSelect(d)} WHERE run_pk = ? AND name = ?${lock}`, [
        artifact.runPk,
        artifact.name,
      ]);
      const replaced = previousRow ? this.#artifact(previousRow) : null;
      if (options.quota !== null) {
        const used = await this.#artifactBytes(tx, artifact.workspaceId);
        const present = await tx.get(
          'SELECT 1 AS x FROM artifacts WHERE workspace_id = ? AND sha256 = ? LIMIT 1',
          [artifact.workspaceId, artifact.sha256],
        );
        let freed = 0;
        if (replaced && replaced.sha256 !== artifact.sha256) {
          const other = await tx.get(
            'SELECT 1 AS x FROM artifacts WHERE workspace_id = ? AND sha256 = ? AND pk <> ? LIMIT 1',
            [artifact.workspaceId, replaced.sha256, replaced.pk],
          );
          if (!other) freed = replaced.size;
        }
        const after = used - freed + (present ? 0 : artifact.size);
        if (after > options.quota) {
          throw new SimscopeError(
            'quota_exceeded',
            `saving '${artifact.name}' (${artifact.size} bytes) would exceed this workspace's artifact quota of ${options.quota} bytes (${used} used)`,
            { details: { field: 'size', quota: options.quota, used, size: artifact.size } },
          );
        }
      }
      // Insert-or-find the blob row and lock it; a collection that deleted it meanwhile makes us insert again.
      let created = false;
      for (;;) {
        const inserted = await tx.run(
          'INSERT INTO blobs (sha256, size, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
          [artifact.sha256, artifact.size, artifact.createdAt],
        );
        if (await tx.get(`SELECT sha256 FROM blobs WHERE sha256 = ?${lock}`, [artifact.sha256])) {
          created = inserted > 0;
          break;
        }
      }
      await options.place(created);
      const row = await this.#insertArtifact(tx, artifact);
      return { artifact: { ...artifact, pk: num(row?.pk) }, replaced };
    });
  }

  async #insertArtifact(tx: SqlDriver, artifact: NewArtifact): Promise<SqlRow | undefined> {
    const d = tx.dialect;
    try {
      return await tx.get(
        `INSERT INTO artifacts (run_pk, workspace_id, name, category, mime_type, size, sha256, metadata, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ${d.jsonParam()}, ?)
         ON CONFLICT (run_pk, name) DO UPDATE SET category = excluded.category, mime_type = excluded.mime_type,
           size = excluded.size, sha256 = excluded.sha256, metadata = excluded.metadata,
           created_at = excluded.created_at
         RETURNING pk`,
        [
          artifact.runPk,
          artifact.workspaceId,
          artifact.name,
          artifact.category,
          artifact.mimeType,
          artifact.size,
          artifact.sha256,
          JSON.stringify(artifact.metadata),
          artifact.createdAt,
        ],
      );
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new SimscopeError('not_found', 'the run was deleted while its artifact was saved', {
          cause: error,
        });
      }
      throw error;
    }
  }

  async getArtifact(runPk: number, name: string): Promise<ArtifactRecord | undefined> {
    const row = await this.db.get(`${this.#artifactSelect(this.db.dialect)} WHERE run_pk = ? AND name = ?`, [
      runPk,
      name,
    ]);
    return row && this.#artifact(row);
  }

  async listArtifacts(runPk: number, query: ArtifactQuery): Promise<ArtifactRecord[]> {
    const where = ['run_pk = ?'];
    const params: SqlParam[] = [runPk];
    // Byte order in both databases, so that pages and cursors agree.
    const key = this.db.dialect.name === 'postgres' ? 'name COLLATE "C"' : 'name';
    // Lengths in code points, as both databases count them.
    const length = (text: string) => [...text].length;
    if (query.category !== null) {
      where.push('category = ?');
      params.push(query.category);
    }
    if (query.name !== null) {
      where.push('name = ?');
      params.push(query.name);
    }
    if (query.startsWith !== null) {
      where.push('substr(name, 1, ?) = ?');
      params.push(length(query.startsWith), query.startsWith);
    }
    if (query.contains !== null) {
      where.push(this.db.dialect.name === 'postgres' ? 'strpos(name, ?) > 0' : 'instr(name, ?) > 0');
      params.push(query.contains);
    }
    if (query.endsWith !== null) {
      where.push('length(name) >= ? AND substr(name, length(name) - ? + 1) = ?');
      const n = length(query.endsWith);
      params.push(n, n, query.endsWith);
    }
    if (query.after !== null) {
      where.push(`${key} > ?`);
      params.push(query.after);
    }
    params.push(query.limit);
    const rows = await this.db.all(
      `${this.#artifactSelect(this.db.dialect)} WHERE ${where.join(' AND ')} ORDER BY ${key} LIMIT ?`,
      params,
    );
    return rows.map((r) => this.#artifact(r));
  }

  async deleteArtifact(runPk: number, name: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM artifacts WHERE run_pk = ? AND name = ?', [runPk, name])) > 0;
  }

  artifactBytes(workspaceId: string): Promise<number> {
    return this.#artifactBytes(this.db, workspaceId);
  }

  async hasBlob(sha256: string, workspaceId?: string): Promise<boolean> {
    const row =
      workspaceId === undefined
        ? await this.db.get('SELECT 1 AS x FROM blobs WHERE sha256 = ?', [sha256])
        : await this.db.get('SELECT 1 AS x FROM artifacts WHERE workspace_id = ? AND sha256 = ? LIMIT 1', [
            workspaceId,
            sha256,
          ]);
    return row !== undefined;
  }

  async knownBlobs(sha256s: readonly string[]): Promise<Set<string>> {
    const known = new Set<string>();
    for (let start = 0; start < sha256s.length; start += 500) {
      const part = sha256s.slice(start, start + 500);
      const rows = await this.db.all(
        `SELECT sha256 FROM blobs WHERE sha256 IN (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const row of rows) known.add(String(row.sha256));
    }
    return known;
  }

  async queuedBlobs(limit: number): Promise<string[]> {
    const rows = await this.db.all('SELECT sha256 FROM blob_unref ORDER BY sha256 LIMIT ?', [limit]);
    return rows.map((r) => String(r.sha256));
  }

  async queueUnreferencedBlobs(): Promise<number> {
    return this.db.run(
      `INSERT INTO blob_unref (sha256) SELECT b.sha256 FROM blobs b
       WHERE NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.sha256 = b.sha256) ON CONFLICT DO NOTHING`,
    );
  }

  async freeBlob(sha256: string, remove: () => Promise<void>): Promise<FreeBlobResult> {
    const postgres = this.db.dialect.name === 'postgres';
    return this.db.transaction(async (tx) => {
      const row = await tx.get(
        `SELECT sha256 FROM blobs WHERE sha256 = ?${postgres ? ' FOR UPDATE SKIP LOCKED' : ''}`,
        [sha256],
      );
      if (!row) {
        if (postgres && (await tx.get('SELECT 1 AS x FROM blobs WHERE sha256 = ?', [sha256]))) return 'busy';
        await tx.run('DELETE FROM blob_unref WHERE sha256 = ?', [sha256]);
        return 'gone';
      }
      await tx.run('DELETE FROM blob_unref WHERE sha256 = ?', [sha256]);
      // A new statement, so it sees every artifact committed before the lock was taken.
      if (await tx.get('SELECT 1 AS x FROM artifacts WHERE sha256 = ? LIMIT 1', [sha256])) return 'in_use';
      await remove();
      await tx.run('DELETE FROM blobs WHERE sha256 = ?', [sha256]);
      return 'freed';
    });
  }
}

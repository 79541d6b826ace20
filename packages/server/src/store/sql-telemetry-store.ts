import type { Json, JsonObject } from '@simscope/protocol';
import type { BatchKey } from './metric-store.js';
import type { SqlDriver, SqlParam, SqlRow } from './sql-driver.js';
import { num, numOrNull, strOrNull } from './sql-rows.js';
import type {
  NewTelemetryRecord,
  TelemetryKeyListRecord,
  TelemetryKeyRecord,
  TelemetryRecordQuery,
  TelemetryRecordRow,
  TelemetryServiceRecord,
  TelemetryServiceSummary,
  TelemetryStore,
  TelemetryUsageQuery,
  TelemetryUsageRow,
} from './telemetry-store.js';

const INSERT_CHUNK = 500;

/** The telemetry tables (migration 5) over any SQL driver. */
export class SqlTelemetryStore implements TelemetryStore {
  readonly #db: SqlDriver;
  readonly #recordColumns: string;

  constructor(db: SqlDriver) {
    this.#db = db;
    const d = db.dialect;
    this.#recordColumns = `pk, ts, function, session_id, ${d.jsonOut('args')} AS args, ${d.jsonOut('kwargs')} AS kwargs,
      ${d.jsonOut('extra')} AS extra`;
  }

  #service(row: SqlRow): TelemetryServiceRecord {
    return {
      pk: num(row.pk),
      workspaceId: String(row.workspace_id),
      path: String(row.path),
      createdAt: num(row.created_at),
    };
  }

  async ensureService(workspaceId: string, path: string, at: number): Promise<TelemetryServiceRecord> {
    await this.#db.run(
      'INSERT INTO telemetry_services (workspace_id, path, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      [workspaceId, path, at],
    );
    const service = await this.getService(workspaceId, path);
    if (!service) throw new Error(`telemetry service ${path} is missing right after it was written`);
    return service;
  }

  async getService(workspaceId: string, path: string): Promise<TelemetryServiceRecord | undefined> {
    const row = await this.#db.get('SELECT * FROM telemetry_services WHERE workspace_id = ? AND path = ?', [
      workspaceId,
      path,
    ]);
    return row && this.#service(row);
  }

  async listServices(workspaceId: string): Promise<TelemetryServiceSummary[]> {
    const rows = await this.#db.all(
      `SELECT s.pk, s.workspace_id, s.path, s.created_at,
         (SELECT COUNT(*) FROM telemetry_records r WHERE r.service_pk = s.pk) AS records,
         (SELECT MIN(ts) FROM telemetry_records r WHERE r.service_pk = s.pk) AS first_ts,
         (SELECT MAX(ts) FROM telemetry_records r WHERE r.service_pk = s.pk) AS last_ts
       FROM telemetry_services s WHERE s.workspace_id = ? ORDER BY s.path`,
      [workspaceId],
    );
    return rows.map((r) => ({
      ...this.#service(r),
      records: num(r.records),
      first: numOrNull(r.first_ts),
      last: numOrNull(r.last_ts),
    }));
  }

  #key(row: SqlRow): TelemetryKeyRecord {
    return {
      id: String(row.id),
      servicePk: num(row.service_pk),
      name: String(row.name),
      createdAt: num(row.created_at),
      expiresAt: numOrNull(row.expires_at),
      revokedAt: numOrNull(row.revoked_at),
    };
  }

  async createKey(key: TelemetryKeyRecord, hash: string): Promise<void> {
    await this.#db.run(
      `INSERT INTO telemetry_keys (id, service_pk, name, hash, created_at, expires_at, revoked_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [key.id, key.servicePk, key.name, hash, key.createdAt, key.expiresAt, key.revokedAt],
    );
  }

  async findKey(
    hash: string,
  ): Promise<{ key: TelemetryKeyRecord; service: TelemetryServiceRecord } | undefined> {
    const row = await this.#db.get(
      `SELECT k.id, k.service_pk, k.name, k.created_at, k.expires_at, k.revoked_at,
         s.workspace_id, s.path, s.created_at AS service_created_at
       FROM telemetry_keys k JOIN telemetry_services s ON s.pk = k.service_pk WHERE k.hash = ?`,
      [hash],
    );
    if (!row) return undefined;
    return {
      key: this.#key(row),
      service: this.#service({ ...row, pk: row.service_pk, created_at: row.service_created_at }),
    };
  }

  async listKeys(servicePath: string | null): Promise<TelemetryKeyListRecord[]> {
    const rows = await this.#db.all(
      `SELECT k.id, k.service_pk, k.name, k.created_at, k.expires_at, k.revoked_at,
         s.path, s.workspace_id, w.name AS workspace_name
       FROM telemetry_keys k JOIN telemetry_services s ON s.pk = k.service_pk
         JOIN workspaces w ON w.id = s.workspace_id
       ${servicePath === null ? '' : 'WHERE s.path = ?'} ORDER BY k.created_at, k.id`,
      servicePath === null ? [] : [servicePath],
    );
    return rows.map((r) => ({
      ...this.#key(r),
      servicePath: String(r.path),
      workspaceId: String(r.workspace_id),
      workspaceName: String(r.workspace_name),
    }));
  }

  async revokeKey(id: string, at: number): Promise<boolean> {
    const changed = await this.#db.run(
      'UPDATE telemetry_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
      [at, id],
    );
    return changed > 0;
  }

  async appendRecords(
    servicePk: number,
    key: BatchKey,
    records: readonly NewTelemetryRecord[],
  ): Promise<boolean> {
    const json = this.#db.dialect.jsonParam();
    const row = `(?, ?, ?, ?, ${json}, ${json}, ${json})`;
    return this.#db.transaction(async (tx) => {
      const claimed = await tx.run(
        'INSERT INTO telemetry_batches (service_pk, writer, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        [servicePk, key.writer, key.seq],
      );
      if (claimed === 0) return false;
      for (let start = 0; start < records.length; start += INSERT_CHUNK) {
        const part = records.slice(start, start + INSERT_CHUNK);
        const params: SqlParam[] = [];
        for (const r of part) {
          params.push(
            servicePk,
            r.timestamp,
            r.function,
            r.sessionId,
            JSON.stringify(r.args),
            JSON.stringify(r.kwargs),
            JSON.stringify(r.extra),
          );
        }
        await tx.run(
          `INSERT INTO telemetry_records (service_pk, ts, function, session_id, args, kwargs, extra)
           VALUES ${part.map(() => row).join(', ')}`,
          params,
        );
      }
      return true;
    });
  }

  async listRecords(servicePk: number, query: TelemetryRecordQuery): Promise<TelemetryRecordRow[]> {
    const where = ['service_pk = ?'];
    const params: SqlParam[] = [servicePk];
    if (query.functions) {
      where.push(`function IN (${query.functions.map(() => '?').join(', ')})`);
      params.push(...query.functions);
    }
    if (query.sessionId !== null) {
      where.push('session_id = ?');
      params.push(query.sessionId);
    }
    if (query.from !== null) {
      where.push('ts >= ?');
      params.push(query.from);
    }
    if (query.to !== null) {
      where.push('ts < ?');
      params.push(query.to);
    }
    const dir = query.descending ? 'DESC' : 'ASC';
    if (query.after) {
      where.push(`(ts, pk) ${query.descending ? '<' : '>'} (?, ?)`);
      params.push(query.after.timestamp, query.after.pk);
    }
    params.push(query.limit);
    const rows = await this.#db.all(
      `SELECT ${this.#recordColumns} FROM telemetry_records WHERE ${where.join(' AND ')}
       ORDER BY ts ${dir}, pk ${dir} LIMIT ?`,
      params,
    );
    return rows.map((r) => ({
      pk: num(r.pk),
      timestamp: num(r.ts),
      function: String(r.function),
      sessionId: strOrNull(r.session_id),
      args: JSON.parse(String(r.args)) as Json[],
      kwargs: JSON.parse(String(r.kwargs)) as JsonObject,
      extra: JSON.parse(String(r.extra)) as JsonObject,
    }));
  }

  async usage(servicePk: number, query: TelemetryUsageQuery): Promise<TelemetryUsageRow[]> {
    const where = ['service_pk = ?', 'ts >= ?', 'ts < ?'];
    const params: SqlParam[] = [query.from, query.bucket, servicePk, query.from, query.to];
    if (query.functions) {
      where.push(`function IN (${query.functions.map(() => '?').join(', ')})`);
      params.push(...query.functions);
    }
    // Bucket numbers stay far below 2^31 (the service caps their count), so an INTEGER cast suits both backends.
    const rows = await this.#db.all(
      `SELECT function, CAST((ts - ?) / ? AS INTEGER) AS bucket, COUNT(*) AS n FROM telemetry_records
       WHERE ${where.join(' AND ')} GROUP BY function, bucket ORDER BY function, bucket`,
      params,
    );
    return rows.map((r) => ({ function: String(r.function), bucket: num(r.bucket), count: num(r.n) }));
  }
}

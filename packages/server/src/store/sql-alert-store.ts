import { randomBytes } from 'node:crypto';
import {
  type AlertState,
  alertDefinitionProblem,
  type NotificationChannel,
  SimscopeError,
} from '@simscope/protocol';
import type {
  AlertDefinition,
  AlertListRecord,
  AlertRecord,
  AlertStore,
  DueEvaluation,
  EvaluationOutcome,
  NewAlert,
  NotificationJob,
  RunAlertRecord,
  StateChange,
  TransitionRecord,
} from './alert-store.js';
import type { SqlDriver, SqlParam, SqlRow } from './sql-driver.js';
import { isUniqueViolation, num, numOrNull, strOrNull } from './sql-rows.js';

const ENDED = "('completed', 'failed', 'terminated')";

/** The alert tables over any SQL driver. */
export class SqlAlertStore implements AlertStore {
  readonly #db: SqlDriver;
  readonly #alertColumns: string;

  constructor(db: SqlDriver) {
    this.#db = db;
    const d = db.dialect;
    this.#alertColumns = `a.pk AS a_pk, a.id AS a_id, a.workspace_id AS a_workspace_id, a.name AS a_name,
      ${d.jsonOut('a.definition')} AS a_definition, a.created_at AS a_created_at`;
  }

  #alert(row: SqlRow): AlertRecord {
    const definition = JSON.parse(String(row.a_definition)) as AlertDefinition;
    const error = alertDefinitionProblem(definition);
    return {
      ...definition,
      enabled: error === null,
      error,
      pk: num(row.a_pk),
      id: String(row.a_id),
      workspaceId: String(row.a_workspace_id),
      name: String(row.a_name),
      createdAt: num(row.a_created_at),
    };
  }

  async createAlert(alert: NewAlert): Promise<AlertRecord> {
    const { id, workspaceId, name, createdAt, ...definition } = alert;
    try {
      await this.#db.run(
        `INSERT INTO alerts (id, workspace_id, name, source, metric, definition, created_at)
         VALUES (?, ?, ?, ?, ?, ${this.#db.dialect.jsonParam()}, ?)`,
        [id, workspaceId, name, definition.source, definition.metric, JSON.stringify(definition), createdAt],
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new SimscopeError('conflict', `an alert named '${name}' already exists in this workspace`, {
          cause: error,
          details: { field: 'name' },
        });
      }
      throw error;
    }
    const created = await this.getAlert(workspaceId, id);
    if (!created) throw new Error(`alert ${id} is missing right after it was written`);
    return created;
  }

  async getAlert(workspaceId: string, idOrName: string): Promise<AlertRecord | undefined> {
    const select = `SELECT ${this.#alertColumns} FROM alerts a WHERE a.workspace_id = ? AND`;
    const row =
      (await this.#db.get(`${select} a.id = ?`, [workspaceId, idOrName])) ??
      (await this.#db.get(`${select} a.name = ?`, [workspaceId, idOrName]));
    return row && this.#alert(row);
  }

  async listAlerts(
    workspaceId: string,
    query: { after: string | null; limit: number; criticalOnly: boolean },
  ): Promise<AlertListRecord[]> {
    const where = ['a.workspace_id = ?'];
    const params: SqlParam[] = [workspaceId];
    if (query.after !== null) {
      where.push('a.name > ?');
      params.push(query.after);
    }
    const having = query.criticalOnly
      ? "HAVING SUM(CASE WHEN ra.state = 'critical' THEN 1 ELSE 0 END) > 0"
      : '';
    params.push(query.limit);
    const rows = await this.#db.all(
      `SELECT ${this.#alertColumns}, COUNT(ra.run_pk) AS runs,
         SUM(CASE WHEN ra.state = 'critical' THEN 1 ELSE 0 END) AS critical
       FROM alerts a LEFT JOIN run_alerts ra ON ra.alert_pk = a.pk
       WHERE ${where.join(' AND ')}
       GROUP BY a.pk, a.id, a.workspace_id, a.name, a.definition, a.created_at ${having}
       ORDER BY a.name LIMIT ?`,
      params,
    );
    return rows.map((r) => ({ ...this.#alert(r), runs: num(r.runs), critical: num(r.critical ?? 0) }));
  }

  async deleteAlert(workspaceId: string, pk: number): Promise<boolean> {
    return (
      (await this.#db.run('DELETE FROM alerts WHERE workspace_id = ? AND pk = ?', [workspaceId, pk])) > 0
    );
  }

  async updateAlert(pk: number, definition: AlertDefinition, nextEvalAt: number | null): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run(
        `UPDATE alerts SET source = ?, metric = ?, definition = ${this.#db.dialect.jsonParam()} WHERE pk = ?`,
        [definition.source, definition.metric, JSON.stringify(definition), pk],
      );
      await tx.run(
        `UPDATE run_alerts SET next_eval_at = ? WHERE alert_pk = ?
           AND run_pk IN (SELECT pk FROM runs WHERE status NOT IN ${ENDED})`,
        [nextEvalAt, pk],
      );
    });
  }

  async attachAlert(runPk: number, alertPk: number, at: number, nextEvalAt: number | null): Promise<boolean> {
    const inserted = await this.#db.run(
      `INSERT INTO run_alerts (run_pk, alert_pk, state, since, next_eval_at, created_at)
       VALUES (?, ?, 'ok', ?, ?, ?) ON CONFLICT DO NOTHING`,
      [runPk, alertPk, at, nextEvalAt, at],
    );
    return inserted > 0;
  }

  async detachAlert(runPk: number, alertPk: number): Promise<boolean> {
    return (
      (await this.#db.run('DELETE FROM run_alerts WHERE run_pk = ? AND alert_pk = ?', [runPk, alertPk])) > 0
    );
  }

  #runAlert(row: SqlRow): RunAlertRecord {
    return {
      runPk: num(row.run_pk),
      runId: String(row.run_id),
      runName: String(row.run_name),
      alert: this.#alert(row),
      state: String(row.state) as AlertState,
      since: num(row.since),
      evaluatedAt: numOrNull(row.evaluated_at),
      nextEvalAt: numOrNull(row.next_eval_at),
      lastValue: numOrNull(row.last_value),
    };
  }

  #runAlertSelect(): string {
    return `SELECT ra.run_pk, r.id AS run_id, r.name AS run_name, ra.state, ra.since, ra.evaluated_at,
        ra.next_eval_at, ra.last_value, ${this.#alertColumns}
      FROM run_alerts ra JOIN alerts a ON a.pk = ra.alert_pk JOIN runs r ON r.pk = ra.run_pk`;
  }

  async getRunAlert(runPk: number, alertPk: number): Promise<RunAlertRecord | undefined> {
    const row = await this.#db.get(`${this.#runAlertSelect()} WHERE ra.run_pk = ? AND ra.alert_pk = ?`, [
      runPk,
      alertPk,
    ]);
    return row && this.#runAlert(row);
  }

  async listRunAlerts(
    runPk: number,
    query: { criticalOnly: boolean; after: string | null; limit: number },
  ): Promise<RunAlertRecord[]> {
    const where = ['ra.run_pk = ?'];
    const params: SqlParam[] = [runPk];
    if (query.criticalOnly) where.push("ra.state = 'critical'");
    if (query.after !== null) {
      where.push('a.name > ?');
      params.push(query.after);
    }
    params.push(query.limit);
    const rows = await this.#db.all(
      `${this.#runAlertSelect()} WHERE ${where.join(' AND ')} ORDER BY a.name LIMIT ?`,
      params,
    );
    return rows.map((r) => this.#runAlert(r));
  }

  async listAlertRuns(
    alertPk: number,
    query: { criticalOnly: boolean; after: string | null; limit: number },
  ): Promise<RunAlertRecord[]> {
    const where = ['ra.alert_pk = ?'];
    const params: SqlParam[] = [alertPk];
    if (query.criticalOnly) where.push("ra.state = 'critical'");
    if (query.after !== null) {
      where.push('r.name > ?');
      params.push(query.after);
    }
    params.push(query.limit);
    const rows = await this.#db.all(
      `${this.#runAlertSelect()} WHERE ${where.join(' AND ')} ORDER BY r.name LIMIT ?`,
      params,
    );
    return rows.map((r) => this.#runAlert(r));
  }

  #transition(row: SqlRow): TransitionRecord {
    return {
      pk: num(row.pk),
      at: num(row.at),
      from: String(row.from_state) as AlertState,
      to: String(row.to_state) as AlertState,
      value: numOrNull(row.value),
      message: String(row.message),
    };
  }

  async listTransitions(
    runPk: number,
    alertPk: number,
    query: { after: number | null; limit: number },
  ): Promise<TransitionRecord[]> {
    const rows = await this.#db.all(
      `SELECT pk, at, from_state, to_state, value, message FROM alert_transitions
       WHERE run_pk = ? AND alert_pk = ? AND pk > ? ORDER BY pk LIMIT ?`,
      [runPk, alertPk, query.after ?? 0, query.limit],
    );
    return rows.map((r) => this.#transition(r));
  }

  async dueEvaluations(until: number, limit: number): Promise<DueEvaluation[]> {
    const rows = await this.#db.all(
      `SELECT ra.run_pk, ra.alert_pk, r.id AS run_id, r.name AS run_name, r.workspace_id, ra.state, ra.next_eval_at,
         s.pk AS series_pk
       FROM run_alerts ra JOIN runs r ON r.pk = ra.run_pk JOIN alerts a ON a.pk = ra.alert_pk
       LEFT JOIN series s ON s.run_pk = ra.run_pk AND s.name = a.metric
       WHERE ra.next_eval_at <= ? AND r.status NOT IN ${ENDED}
       ORDER BY ra.next_eval_at, ra.run_pk, ra.alert_pk LIMIT ?`,
      [until, limit],
    );
    // Many pairs share few definitions: read each once.
    const alerts = new Map<number, AlertRecord>();
    const pks = [...new Set(rows.map((r) => num(r.alert_pk)))];
    for (let start = 0; start < pks.length; start += 500) {
      const part = pks.slice(start, start + 500);
      const found = await this.#db.all(
        `SELECT ${this.#alertColumns} FROM alerts a WHERE a.pk IN (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const row of found) alerts.set(num(row.a_pk), this.#alert(row));
    }
    return rows.flatMap((row) => {
      const alert = alerts.get(num(row.alert_pk));
      if (!alert) return [];
      return [
        {
          runPk: num(row.run_pk),
          runId: String(row.run_id),
          runName: String(row.run_name),
          workspaceId: String(row.workspace_id),
          alert,
          state: String(row.state) as AlertState,
          slot: num(row.next_eval_at),
          seriesPk: numOrNull(row.series_pk),
        },
      ];
    });
  }

  async #record(tx: SqlDriver, runPk: number, alertPk: number, change: StateChange): Promise<number> {
    const row = await tx.get(
      `INSERT INTO alert_transitions (run_pk, alert_pk, at, from_state, to_state, value, message)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING pk`,
      [runPk, alertPk, change.at, change.from, change.to, change.value, change.message],
    );
    const transitionPk = num(row?.pk);
    for (const channel of change.notify) {
      await tx.run(
        `INSERT INTO alert_notifications (id, transition_pk, channel, status, attempts, next_at)
         VALUES (?, ?, ?, 'pending', 0, ?)`,
        [randomBytes(12).toString('base64url'), transitionPk, channel, change.at],
      );
    }
    if (change.abortReason !== null) {
      await tx.run(
        `UPDATE runs SET abort_at = COALESCE(abort_at, ?), abort_reason = COALESCE(abort_reason, ?)
         WHERE pk = ? AND status NOT IN ${ENDED}`,
        [change.at, change.abortReason, runPk],
      );
    }
    return transitionPk;
  }

  async applyEvaluations(outcomes: readonly EvaluationOutcome[]): Promise<number> {
    if (outcomes.length === 0) return 0;
    // A fixed order, so that two processes applying overlapping batches lock rows alike and cannot deadlock.
    const ordered = [...outcomes].sort((a, b) => a.runPk - b.runPk || a.alertPk - b.alertPk);
    return this.#db.transaction(async (tx) => {
      let applied = 0;
      for (const o of ordered) {
        const last = o.transitions.at(-1);
        const sets = ['next_eval_at = ?', 'evaluated_at = COALESCE(?, evaluated_at)'];
        const params: SqlParam[] = [o.nextEvalAt, o.evaluatedAt];
        if (o.value !== undefined) {
          sets.push('last_value = ?');
          params.push(o.value);
        }
        if (last) {
          sets.push('state = ?', 'since = ?');
          params.push(last.to, last.at);
        }
        const changed = await tx.run(
          `UPDATE run_alerts SET ${sets.join(', ')} WHERE run_pk = ? AND alert_pk = ? AND next_eval_at = ?`,
          [...params, o.runPk, o.alertPk, o.slot],
        );
        if (changed === 0) continue;
        applied++;
        for (const change of o.transitions) await this.#record(tx, o.runPk, o.alertPk, change);
      }
      return applied;
    });
  }

  async setState(
    runPk: number,
    alertPk: number,
    change: Omit<StateChange, 'from'>,
  ): Promise<(StateChange & { transitionPk: number }) | null> {
    return this.#db.transaction(async (tx) => {
      const row = await tx.get(
        `SELECT state FROM run_alerts WHERE run_pk = ? AND alert_pk = ?${tx.dialect.forUpdate}`,
        [runPk, alertPk],
      );
      if (!row) throw new SimscopeError('not_found', 'the alert is not attached to this run');
      const from = String(row.state) as AlertState;
      if (from === change.to) return null;
      await tx.run(
        'UPDATE run_alerts SET state = ?, since = ?, last_value = ? WHERE run_pk = ? AND alert_pk = ?',
        [change.to, change.at, change.value, runPk, alertPk],
      );
      const full: StateChange = { ...change, from };
      const transitionPk = await this.#record(tx, runPk, alertPk, full);
      return { ...full, transitionPk };
    });
  }

  async lastPointTimestamp(seriesPk: number): Promise<number | null> {
    const row = await this.#db.get('SELECT MAX(ts_max) AS t FROM metric_blocks WHERE series_pk = ?', [
      seriesPk,
    ]);
    return numOrNull(row?.t);
  }

  async lastEventTimestamp(runPk: number): Promise<number | null> {
    const row = await this.#db.get('SELECT MAX(ts) AS t FROM events WHERE run_pk = ?', [runPk]);
    return numOrNull(row?.t);
  }

  async claimNotifications(now: number, leaseUntil: number, limit: number): Promise<NotificationJob[]> {
    const d = this.#db.dialect;
    // One statement claims; PostgreSQL skips rows another server is claiming instead of waiting for them.
    const claimed = await this.#db.all(
      `UPDATE alert_notifications SET claimed_until = ? WHERE pk IN (
         SELECT pk FROM alert_notifications WHERE status = 'pending' AND next_at <= ?
           AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY next_at, pk LIMIT ?${d.forUpdate}${d.name === 'postgres' ? ' SKIP LOCKED' : ''}
       ) RETURNING pk`,
      [leaseUntil, now, now, limit],
    );
    const jobs: NotificationJob[] = [];
    for (const c of claimed.sort((x, y) => num(x.pk) - num(y.pk))) {
      const pk = num(c.pk);
      const row = await this.#db.get(
        `SELECT n.pk AS n_pk, n.id AS n_id, n.channel, n.attempts, t.pk, t.at, t.from_state, t.to_state, t.value,
           t.message, r.id AS run_id, r.name AS run_name, u.email AS owner_email, w.name AS workspace_name,
           ${this.#alertColumns}
         FROM alert_notifications n JOIN alert_transitions t ON t.pk = n.transition_pk
           JOIN alerts a ON a.pk = t.alert_pk JOIN runs r ON r.pk = t.run_pk
           JOIN workspaces w ON w.id = r.workspace_id LEFT JOIN users u ON u.id = r.user_id
         WHERE n.pk = ?`,
        [pk],
      );
      if (!row) continue;
      jobs.push({
        pk,
        id: String(row.n_id),
        channel: String(row.channel) as NotificationChannel,
        attempts: num(row.attempts),
        transition: this.#transition(row),
        alert: this.#alert(row),
        run: { id: String(row.run_id), name: String(row.run_name), ownerEmail: strOrNull(row.owner_email) },
        workspace: String(row.workspace_name),
      });
    }
    return jobs;
  }

  async notificationSent(pk: number, at: number): Promise<void> {
    await this.#db.run(
      "UPDATE alert_notifications SET status = 'sent', sent_at = ?, attempts = attempts + 1, claimed_until = NULL, error = NULL WHERE pk = ?",
      [at, pk],
    );
  }

  async notificationFailed(pk: number, error: string, retryAt: number | null): Promise<void> {
    await this.#db.run(
      `UPDATE alert_notifications SET status = ?, attempts = attempts + 1, next_at = COALESCE(?, next_at),
         claimed_until = NULL, error = ? WHERE pk = ?`,
      [retryAt === null ? 'failed' : 'pending', retryAt, error.slice(0, 2000), pk],
    );
  }

  async listNotifications(
    transitionPk: number,
  ): Promise<
    { id: string; channel: NotificationChannel; status: string; attempts: number; error: string | null }[]
  > {
    const rows = await this.#db.all(
      'SELECT id, channel, status, attempts, error FROM alert_notifications WHERE transition_pk = ? ORDER BY channel',
      [transitionPk],
    );
    return rows.map((r) => ({
      id: String(r.id),
      channel: String(r.channel) as NotificationChannel,
      status: String(r.status),
      attempts: num(r.attempts),
      error: strOrNull(r.error),
    }));
  }
}

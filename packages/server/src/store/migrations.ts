import type { Dialect, SqlDriver } from './sql-driver.js';

/** One versioned schema change; `sql` gets the backend's dialect so one list serves both. */
export interface Migration {
  version: number;
  name: string;
  sql(d: Dialect): string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'core',
    sql: ({ types: t }) => `
      CREATE TABLE users (
        id ${t.text} PRIMARY KEY,
        name ${t.text} NOT NULL UNIQUE,
        email ${t.text},
        is_admin ${t.int} NOT NULL DEFAULT 0,
        created_at ${t.int} NOT NULL
      );
      CREATE TABLE workspaces (
        id ${t.text} PRIMARY KEY,
        name ${t.text} NOT NULL UNIQUE,
        created_at ${t.int} NOT NULL
      );
      CREATE TABLE memberships (
        workspace_id ${t.text} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        user_id ${t.text} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at ${t.int} NOT NULL,
        PRIMARY KEY (workspace_id, user_id)
      );
      CREATE INDEX memberships_user ON memberships (user_id, created_at);
      CREATE TABLE tokens (
        id ${t.text} PRIMARY KEY,
        user_id ${t.text} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name ${t.text} NOT NULL,
        hash ${t.text} NOT NULL UNIQUE,
        scopes ${t.text} NOT NULL,
        created_at ${t.int} NOT NULL,
        expires_at ${t.int},
        revoked_at ${t.int}
      );
      CREATE TABLE folders (
        pk ${t.pk},
        id ${t.text} NOT NULL UNIQUE,
        workspace_id ${t.text} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        path ${t.text} NOT NULL,
        parent_pk ${t.int} REFERENCES folders(pk) ON DELETE CASCADE,
        description ${t.text},
        tags ${t.json} NOT NULL,
        metadata ${t.json} NOT NULL,
        created_at ${t.int} NOT NULL,
        UNIQUE (workspace_id, path)
      );
      CREATE INDEX folders_parent ON folders (parent_pk);
      CREATE TABLE runs (
        pk ${t.pk},
        id ${t.text} NOT NULL UNIQUE,
        workspace_id ${t.text} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        name ${t.text} NOT NULL,
        folder_pk ${t.int} NOT NULL REFERENCES folders(pk) ON DELETE CASCADE,
        user_id ${t.text},
        description ${t.text},
        tags ${t.json} NOT NULL,
        metadata ${t.json} NOT NULL,
        system ${t.json} NOT NULL,
        status ${t.text} NOT NULL,
        created_at ${t.int} NOT NULL,
        started_at ${t.int},
        ended_at ${t.int},
        heartbeat_at ${t.int},
        heartbeat_timeout ${t.real},
        abort_at ${t.int},
        abort_reason ${t.text},
        UNIQUE (workspace_id, name)
      );
      CREATE INDEX runs_created ON runs (workspace_id, created_at, pk);
      CREATE INDEX runs_folder ON runs (folder_pk);
      CREATE INDEX runs_status ON runs (status, heartbeat_at);
      CREATE TABLE series (
        pk ${t.pk},
        run_pk ${t.int} NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
        name ${t.text} NOT NULL,
        count ${t.int} NOT NULL,
        last_step ${t.real},
        last_time ${t.real},
        last_timestamp ${t.int},
        last_value ${t.real},
        min_value ${t.real},
        max_value ${t.real},
        UNIQUE (run_pk, name)
      );
      CREATE TABLE metric_blocks (
        pk ${t.pk},
        series_pk ${t.int} NOT NULL REFERENCES series(pk) ON DELETE CASCADE,
        n ${t.int} NOT NULL,
        step_min ${t.real} NOT NULL,
        step_max ${t.real} NOT NULL,
        step_stride ${t.real},
        time_min ${t.real} NOT NULL,
        time_max ${t.real} NOT NULL,
        ts_min ${t.int} NOT NULL,
        ts_max ${t.int} NOT NULL,
        steps ${t.bytes},
        time_origin ${t.real},
        times ${t.bytes},
        timestamps ${t.bytes} NOT NULL,
        vals ${t.bytes} NOT NULL
      );
      CREATE INDEX metric_blocks_series ON metric_blocks (series_pk, step_min);
      CREATE TABLE events (
        pk ${t.pk},
        run_pk ${t.int} NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
        ts ${t.int} NOT NULL,
        level ${t.text} NOT NULL,
        message ${t.text} NOT NULL
      );
      CREATE INDEX events_run ON events (run_pk, ts, pk);
      CREATE TABLE ingest_batches (
        run_pk ${t.int} NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
        writer ${t.text} NOT NULL,
        kind ${t.text} NOT NULL,
        seq ${t.int} NOT NULL,
        PRIMARY KEY (run_pk, writer, kind, seq)
      );
    `,
  },
  {
    version: 2,
    name: 'metric blocks stored uncompressed',
    // Float columns barely compress, and PostgreSQL's TOAST compression of each block cost more than the insert.
    sql: (d) =>
      d.name === 'postgres'
        ? ['steps', 'times', 'timestamps', 'vals']
            .map((c) => `ALTER TABLE metric_blocks ALTER COLUMN ${c} SET STORAGE EXTERNAL;`)
            .join('\n')
        : 'SELECT 1;',
  },
  {
    version: 3,
    name: 'artifacts and content-addressed blobs',
    // blob_unref queues hashes whose artifacts went away (cascades from run, folder and workspace deletion
    // included), so freeing blobs never has to scan every blob.
    sql: (d) => {
      const t = d.types;
      const tables = `
      CREATE TABLE blobs (
        sha256 ${t.text} PRIMARY KEY,
        size ${t.int} NOT NULL,
        created_at ${t.int} NOT NULL
      );
      CREATE TABLE artifacts (
        pk ${t.pk},
        run_pk ${t.int} NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
        workspace_id ${t.text} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        name ${t.text} NOT NULL,
        category ${t.text} NOT NULL,
        mime_type ${t.text} NOT NULL,
        size ${t.int} NOT NULL,
        sha256 ${t.text} NOT NULL REFERENCES blobs(sha256),
        metadata ${t.json} NOT NULL,
        created_at ${t.int} NOT NULL,
        UNIQUE (run_pk, name)
      );
      CREATE INDEX artifacts_sha256 ON artifacts (sha256);
      CREATE INDEX artifacts_workspace ON artifacts (workspace_id, sha256);
      CREATE TABLE blob_unref (sha256 ${t.text} PRIMARY KEY);
      `;
      if (d.name === 'sqlite') {
        return `${tables}
      CREATE TRIGGER artifacts_unref_delete AFTER DELETE ON artifacts BEGIN
        INSERT OR IGNORE INTO blob_unref (sha256) VALUES (OLD.sha256);
      END;
      CREATE TRIGGER artifacts_unref_update AFTER UPDATE OF sha256 ON artifacts
        WHEN OLD.sha256 <> NEW.sha256 BEGIN
        INSERT OR IGNORE INTO blob_unref (sha256) VALUES (OLD.sha256);
      END;`;
      }
      return `${tables}
      CREATE FUNCTION simscope_blob_unref() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' OR OLD.sha256 IS DISTINCT FROM NEW.sha256 THEN
          INSERT INTO blob_unref (sha256) VALUES (OLD.sha256) ON CONFLICT DO NOTHING;
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER artifacts_unref AFTER DELETE OR UPDATE OF sha256 ON artifacts
        FOR EACH ROW EXECUTE FUNCTION simscope_blob_unref();`;
    },
  },
  {
    version: 4,
    name: 'alerts',
    sql: ({ types: t }) => `
      CREATE TABLE alerts (
        pk ${t.pk},
        id ${t.text} NOT NULL UNIQUE,
        workspace_id ${t.text} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        name ${t.text} NOT NULL,
        source ${t.text} NOT NULL,
        metric ${t.text},
        definition ${t.json} NOT NULL,
        created_at ${t.int} NOT NULL,
        UNIQUE (workspace_id, name)
      );
      CREATE TABLE run_alerts (
        run_pk ${t.int} NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
        alert_pk ${t.int} NOT NULL REFERENCES alerts(pk) ON DELETE CASCADE,
        state ${t.text} NOT NULL,
        since ${t.int} NOT NULL,
        evaluated_at ${t.int},
        next_eval_at ${t.int},
        last_value ${t.real},
        created_at ${t.int} NOT NULL,
        PRIMARY KEY (run_pk, alert_pk)
      );
      CREATE INDEX run_alerts_due ON run_alerts (next_eval_at);
      CREATE INDEX run_alerts_alert ON run_alerts (alert_pk, state);
      CREATE TABLE alert_transitions (
        pk ${t.pk},
        run_pk ${t.int} NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
        alert_pk ${t.int} NOT NULL REFERENCES alerts(pk) ON DELETE CASCADE,
        at ${t.int} NOT NULL,
        from_state ${t.text} NOT NULL,
        to_state ${t.text} NOT NULL,
        value ${t.real},
        message ${t.text} NOT NULL
      );
      CREATE INDEX alert_transitions_run ON alert_transitions (run_pk, alert_pk, pk);
      CREATE TABLE alert_notifications (
        pk ${t.pk},
        id ${t.text} NOT NULL UNIQUE,
        transition_pk ${t.int} NOT NULL REFERENCES alert_transitions(pk) ON DELETE CASCADE,
        channel ${t.text} NOT NULL,
        status ${t.text} NOT NULL,
        attempts ${t.int} NOT NULL DEFAULT 0,
        next_at ${t.int} NOT NULL,
        claimed_until ${t.int},
        sent_at ${t.int},
        error ${t.text}
      );
      CREATE INDEX alert_notifications_due ON alert_notifications (status, next_at);
    `,
  },
  {
    version: 5,
    name: 'telemetry',
    sql: ({ types: t }) => `
      CREATE TABLE telemetry_services (
        pk ${t.pk},
        workspace_id ${t.text} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        path ${t.text} NOT NULL,
        created_at ${t.int} NOT NULL,
        UNIQUE (workspace_id, path)
      );
      CREATE TABLE telemetry_keys (
        id ${t.text} PRIMARY KEY,
        service_pk ${t.int} NOT NULL REFERENCES telemetry_services(pk) ON DELETE CASCADE,
        name ${t.text} NOT NULL,
        hash ${t.text} NOT NULL UNIQUE,
        created_at ${t.int} NOT NULL,
        expires_at ${t.int},
        revoked_at ${t.int}
      );
      CREATE INDEX telemetry_keys_service ON telemetry_keys (service_pk);
      CREATE TABLE telemetry_records (
        pk ${t.pk},
        service_pk ${t.int} NOT NULL REFERENCES telemetry_services(pk) ON DELETE CASCADE,
        ts ${t.int} NOT NULL,
        function ${t.text} NOT NULL,
        session_id ${t.text},
        args ${t.json} NOT NULL,
        kwargs ${t.json} NOT NULL,
        extra ${t.json} NOT NULL
      );
      CREATE INDEX telemetry_records_time ON telemetry_records (service_pk, ts, pk);
      CREATE INDEX telemetry_records_function ON telemetry_records (service_pk, function, ts);
      CREATE TABLE telemetry_batches (
        service_pk ${t.int} NOT NULL REFERENCES telemetry_services(pk) ON DELETE CASCADE,
        writer ${t.text} NOT NULL,
        seq ${t.int} NOT NULL,
        PRIMARY KEY (service_pk, writer, seq)
      );
    `,
  },
  {
    // Series that already hold points keep a NULL sum (their mean is unknown); new and empty ones start at 0.
    version: 6,
    name: 'series mean',
    sql: ({ types: t }) => `
      ALTER TABLE series ADD COLUMN sum_value ${t.real};
      ALTER TABLE series ADD COLUMN sum_count ${t.int};
      UPDATE series SET sum_value = 0, sum_count = 0 WHERE count = 0;
    `,
  },
  {
    // Idempotency keys and their answers, shared by every server process; a row without status is still running.
    version: 7,
    name: 'idempotency keys',
    sql: ({ types: t }) => `
      CREATE TABLE idempotency_keys (
        pk ${t.pk},
        id ${t.text} NOT NULL UNIQUE,
        fingerprint ${t.text} NOT NULL,
        status ${t.int},
        content_type ${t.text},
        body ${t.bytes},
        size ${t.int} NOT NULL DEFAULT 0,
        expires_at ${t.int} NOT NULL
      );
      CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
    `,
  },
  {
    // Retention rules of a workspace (folder NULL: all of it), and fixed-window counters of the rate limits, shared
    // by every server process.
    version: 8,
    name: 'retention rules and rate windows',
    sql: ({ types: t }) => `
      CREATE TABLE retention_rules (
        pk ${t.pk},
        id ${t.text} NOT NULL UNIQUE,
        workspace_id ${t.text} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        folder ${t.text},
        action ${t.text} NOT NULL,
        older_than_days ${t.real} NOT NULL,
        buckets ${t.int},
        created_at ${t.int} NOT NULL
      );
      CREATE INDEX retention_rules_workspace ON retention_rules (workspace_id);
      CREATE TABLE retention_downsampled (
        run_pk ${t.int} PRIMARY KEY REFERENCES runs(pk) ON DELETE CASCADE,
        buckets ${t.int} NOT NULL,
        at ${t.int} NOT NULL
      );
      CREATE TABLE rate_windows (
        key ${t.text} NOT NULL,
        window_start ${t.int} NOT NULL,
        used ${t.real} NOT NULL,
        PRIMARY KEY (key, window_start)
      );
      CREATE INDEX rate_windows_start ON rate_windows (window_start);
    `,
  },
  {
    // Saved compare-page layouts of a workspace (issue 20): a name unique in the workspace and a JSON layout.
    version: 9,
    name: 'dashboards',
    sql: ({ types: t }) => `
      CREATE TABLE dashboards (
        pk ${t.pk},
        id ${t.text} NOT NULL UNIQUE,
        workspace_id ${t.text} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        name ${t.text} NOT NULL,
        layout ${t.text} NOT NULL,
        created_by ${t.text},
        created_at ${t.int} NOT NULL,
        updated_at ${t.int} NOT NULL,
        UNIQUE (workspace_id, name)
      );
    `,
  },
  {
    // Array series (issue 24): one row per (run, name, step) with its index and summary; the elements are
    // deflated chunks in the blob store, each chunk's blob listed in array_chunks so blob collection keeps it.
    version: 10,
    name: 'array series',
    sql: ({ types: t }) => `
      CREATE TABLE array_steps (
        pk ${t.pk},
        run_pk ${t.int} NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
        name ${t.text} NOT NULL,
        step ${t.int} NOT NULL,
        time ${t.real},
        shape ${t.text} NOT NULL,
        dtype ${t.text} NOT NULL,
        axes ${t.text},
        min ${t.real},
        max ${t.real},
        mean ${t.real},
        stored_bytes ${t.int} NOT NULL,
        created_at ${t.int} NOT NULL,
        UNIQUE (run_pk, name, step)
      );
      CREATE TABLE array_chunks (
        step_pk ${t.int} NOT NULL REFERENCES array_steps(pk) ON DELETE CASCADE,
        idx ${t.int} NOT NULL,
        sha256 ${t.text} NOT NULL REFERENCES blobs(sha256),
        size ${t.int} NOT NULL,
        PRIMARY KEY (step_pk, idx)
      );
      CREATE INDEX array_chunks_sha256 ON array_chunks (sha256);
    `,
  },
  {
    // Roles, invites, share links and the audit log (issue 22). Members so far become editors; the bootstrap
    // admin (an admin member of `default`) its owner.
    version: 11,
    name: 'roles and audit',
    sql: ({ types: t }) => `
      ALTER TABLE memberships ADD COLUMN role ${t.text} NOT NULL DEFAULT 'editor';
      UPDATE memberships SET role = 'owner'
        WHERE workspace_id IN (SELECT id FROM workspaces WHERE name = 'default')
          AND user_id IN (SELECT id FROM users WHERE is_admin = 1);
      CREATE TABLE invites (
        id ${t.text} PRIMARY KEY,
        workspace_id ${t.text} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        hash ${t.text} NOT NULL UNIQUE,
        role ${t.text} NOT NULL,
        created_by ${t.text} REFERENCES users(id) ON DELETE SET NULL,
        created_at ${t.int} NOT NULL,
        expires_at ${t.int} NOT NULL,
        used_at ${t.int},
        used_by ${t.text} REFERENCES users(id) ON DELETE SET NULL
      );
      CREATE INDEX invites_workspace ON invites (workspace_id, created_at);
      CREATE TABLE shares (
        id ${t.text} PRIMARY KEY,
        workspace_id ${t.text} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        hash ${t.text} NOT NULL UNIQUE,
        run_id ${t.text} REFERENCES runs(id) ON DELETE CASCADE,
        folder ${t.text},
        created_by ${t.text} REFERENCES users(id) ON DELETE SET NULL,
        created_at ${t.int} NOT NULL,
        revoked_at ${t.int}
      );
      CREATE INDEX shares_workspace ON shares (workspace_id, created_at);
      CREATE TABLE audit_log (
        pk ${t.pk},
        workspace_id ${t.text},
        at ${t.int} NOT NULL,
        actor_id ${t.text},
        actor_name ${t.text} NOT NULL,
        action ${t.text} NOT NULL,
        target ${t.text} NOT NULL,
        target_id ${t.text},
        details ${t.text}
      );
      CREATE INDEX audit_log_workspace ON audit_log (workspace_id, pk);
    `,
  },
  {
    // Sign-in (issue 22): password hashes, web sessions (each one a token row, so it authenticates like a token),
    // device authorization grants (RFC 8628) and the OpenID Connect subjects users were created for.
    version: 12,
    name: 'sign-in',
    sql: ({ types: t }) => `
      CREATE TABLE user_passwords (
        user_id ${t.text} PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        hash ${t.text} NOT NULL,
        updated_at ${t.int} NOT NULL
      );
      CREATE TABLE web_sessions (
        token_id ${t.text} PRIMARY KEY REFERENCES tokens(id) ON DELETE CASCADE,
        user_id ${t.text} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        method ${t.text} NOT NULL,
        user_agent ${t.text},
        address ${t.text},
        created_at ${t.int} NOT NULL
      );
      CREATE INDEX web_sessions_user ON web_sessions (user_id);
      CREATE TABLE device_grants (
        device_hash ${t.text} PRIMARY KEY,
        user_code ${t.text} NOT NULL UNIQUE,
        client_id ${t.text} NOT NULL,
        scopes ${t.text} NOT NULL,
        created_at ${t.int} NOT NULL,
        expires_at ${t.int} NOT NULL,
        interval_s ${t.int} NOT NULL,
        polled_at ${t.int},
        status ${t.text} NOT NULL,
        user_id ${t.text} REFERENCES users(id) ON DELETE CASCADE,
        grant_scopes ${t.text},
        token_seconds ${t.real}
      );
      CREATE TABLE oidc_identities (
        issuer ${t.text} NOT NULL,
        subject ${t.text} NOT NULL,
        user_id ${t.text} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at ${t.int} NOT NULL,
        PRIMARY KEY (issuer, subject)
      );
    `,
  },
  {
    // Restart chains (issue 23): a run's segments; blocks and events carry the segment that wrote them, and a
    // block's `visible_to` is the step past which a later segment's rewind hides its points (NULL: all visible).
    version: 13,
    name: 'run segments',
    sql: ({ types: t }) => `
      CREATE TABLE run_segments (
        run_pk ${t.int} NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
        number ${t.int} NOT NULL,
        job_id ${t.text},
        host ${t.text},
        rewind_to ${t.real},
        started_at ${t.int} NOT NULL,
        ended_at ${t.int},
        status ${t.text} NOT NULL,
        PRIMARY KEY (run_pk, number)
      );
      ALTER TABLE runs ADD COLUMN segment ${t.int} NOT NULL DEFAULT 1;
      ALTER TABLE metric_blocks ADD COLUMN segment ${t.int} NOT NULL DEFAULT 1;
      ALTER TABLE metric_blocks ADD COLUMN visible_to ${t.real};
      ALTER TABLE events ADD COLUMN segment ${t.int} NOT NULL DEFAULT 1;
    `,
  },
];

/**
 * Applies, in version order, each migration whose version the database has not recorded. Versions need not be
 * contiguous: branches take numbers of their own, and one merged later is applied when it appears.
 */
export async function applyMigrations(
  db: SqlDriver,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  const versions = migrations.map((m) => m.version);
  if (new Set(versions).size !== versions.length)
    throw new Error(`duplicate migration versions: ${versions.join(', ')}`);
  const { types } = db.dialect;
  await db.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (version ${types.int} PRIMARY KEY, name ${types.text} NOT NULL, applied_at ${types.int} NOT NULL)`,
  );
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    await db.transaction(async (tx) => {
      const done = await tx.get('SELECT version FROM schema_migrations WHERE version = ?', [
        migration.version,
      ]);
      if (done) return;
      await tx.exec(migration.sql(db.dialect));
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        Date.now() * 1000,
      ]);
      applied.push(migration.version);
    });
  }
  return applied;
}

import type { AccessStore } from './access-store.js';
import type { AlertStore } from './alert-store.js';
import type { ArrayStore } from './array-store.js';
import type { ArtifactStore } from './artifact-store.js';
import type { DashboardStore } from './dashboard-store.js';
import type { EventStore } from './event-store.js';
import type { FolderStore } from './folder-store.js';
import type { IdempotencyStore } from './idempotency-store.js';
import type { IdentityStore } from './identity-store.js';
import type { MetricStore } from './metric-store.js';
import { applyMigrations, MIGRATIONS } from './migrations.js';
import type { RateLimitStore } from './rate-limit-store.js';
import type { RetentionStore } from './retention-store.js';
import type { RunStore } from './run-store.js';
import type { SegmentStore } from './segment-store.js';
import type { SignInStore } from './sign-in-store.js';
import { SqlAccessStore } from './sql-access-store.js';
import { SqlAlertStore } from './sql-alert-store.js';
import { SqlArrayStore } from './sql-array-store.js';
import { SqlArtifactStore } from './sql-artifact-store.js';
import { SqlDashboardStore } from './sql-dashboard-store.js';
import type { SqlDriver } from './sql-driver.js';
import { SqlEventStore } from './sql-event-store.js';
import { SqlFolderStore } from './sql-folder-store.js';
import { SqlIdempotencyStore } from './sql-idempotency-store.js';
import { SqlIdentityStore } from './sql-identity-store.js';
import { SqlMetricStore } from './sql-metric-store.js';
import { SqlRateLimitStore } from './sql-rate-limit-store.js';
import { SqlRetentionStore } from './sql-retention-store.js';
import { SqlRunStore } from './sql-run-store.js';
import { SqlSegmentStore } from './sql-segment-store.js';
import { SqlSignInStore } from './sql-sign-in-store.js';
import { SqlTelemetryStore } from './sql-telemetry-store.js';
import type { Store } from './store.js';
import type { TelemetryStore } from './telemetry-store.js';

/** The store over any SQL driver, composed of one SQL sub-store per aggregate; `SqliteStore` and `PostgresStore` give it their driver. */
export abstract class SqlStore implements Store {
  abstract readonly backend: 'sqlite' | 'postgres';
  protected readonly db: SqlDriver;
  readonly identity: IdentityStore;
  readonly folders: FolderStore;
  readonly runs: RunStore;
  readonly metrics: MetricStore;
  readonly events: EventStore;
  readonly segments: SegmentStore;
  readonly artifacts: ArtifactStore;
  readonly arrays: ArrayStore;
  readonly alerts: AlertStore;
  readonly telemetry: TelemetryStore;
  readonly idempotency: IdempotencyStore;
  readonly retention: RetentionStore;
  readonly rateLimits: RateLimitStore;
  readonly dashboards: DashboardStore;
  readonly signIn: SignInStore;
  readonly access: AccessStore;

  constructor(db: SqlDriver, options: { cacheBytes?: number } = {}) {
    this.db = db;
    this.identity = new SqlIdentityStore(db);
    this.access = new SqlAccessStore(db);
    this.folders = new SqlFolderStore(db);
    this.runs = new SqlRunStore(db);
    this.metrics = new SqlMetricStore(db, options);
    this.events = new SqlEventStore(db);
    this.segments = new SqlSegmentStore(db);
    this.artifacts = new SqlArtifactStore(db);
    this.arrays = new SqlArrayStore(db);
    this.alerts = new SqlAlertStore(db);
    this.telemetry = new SqlTelemetryStore(db);
    this.idempotency = new SqlIdempotencyStore(db);
    this.retention = new SqlRetentionStore(db);
    this.rateLimits = new SqlRateLimitStore(db);
    this.dashboards = new SqlDashboardStore(db);
    this.signIn = new SqlSignInStore(db);
  }

  async migrate(): Promise<void> {
    await applyMigrations(this.db);
  }

  async migrationsDone(): Promise<boolean> {
    const rows = await this.db.all<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => Number(r.version)));
    return MIGRATIONS.every((m) => done.has(m.version));
  }

  close(): Promise<void> {
    return this.db.close();
  }

  usage(): { open: number; idle: number; waiting: number } {
    return this.db.usage?.() ?? { open: 0, idle: 0, waiting: 0 };
  }
}

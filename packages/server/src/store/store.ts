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
import type { RateLimitStore } from './rate-limit-store.js';
import type { RetentionStore } from './retention-store.js';
import type { RunStore } from './run-store.js';
import type { SegmentStore } from './segment-store.js';
import type { SignInStore } from './sign-in-store.js';
import type { TelemetryStore } from './telemetry-store.js';

export type { JsonObject } from '@simscope/protocol';
export type { DashboardRecord } from './dashboard-store.js';
export type { EventRecord } from './event-store.js';
export type { FolderRecord } from './folder-store.js';
export type { TokenRecord, UserRecord, WorkspaceRecord } from './identity-store.js';
export type { Block, BlockColumn, BlockIndexEntry, Points, SeriesRecord } from './metric-store.js';
export type { RunChanges, RunRecord } from './run-store.js';

/**
 * Everything Simscope keeps, behind one interface with a SQLite and a PostgreSQL implementation: one sub-store per
 * aggregate, each with its own interface (`*-store.ts`) and SQL implementation (`sql-*-store.ts`).
 */
export interface Store {
  readonly backend: 'sqlite' | 'postgres';
  /** Users, workspaces, memberships and tokens (identity-store.ts). */
  readonly identity: IdentityStore;
  /** Folders (folder-store.ts). */
  readonly folders: FolderStore;
  /** Runs (run-store.ts). */
  readonly runs: RunStore;
  /** Metric series and their blocks (metric-store.ts). */
  readonly metrics: MetricStore;
  /** Events (event-store.ts). */
  readonly events: EventStore;
  /** Run segments: restarts from checkpoints (segment-store.ts). */
  readonly segments: SegmentStore;
  /** Artifacts and the blob index (artifact-store.ts). */
  readonly artifacts: ArtifactStore;
  /** Array series steps and their chunk index (array-store.ts). */
  readonly arrays: ArrayStore;
  /** Alert definitions, states, history and notifications (alert-store.ts). */
  readonly alerts: AlertStore;
  /** Telemetry services, keys and records (telemetry-store.ts). */
  readonly telemetry: TelemetryStore;
  /** Idempotency keys and answers, shared by every server process (idempotency-store.ts). */
  readonly idempotency: IdempotencyStore;
  /** Retention rules and the runs they reach (retention-store.ts). */
  readonly retention: RetentionStore;
  /** Fixed-window counters of the rate limits (rate-limit-store.ts). */
  readonly rateLimits: RateLimitStore;
  /** Saved compare-page layouts (dashboard-store.ts). */
  readonly dashboards: DashboardStore;
  /** Roles of members, invite links, share links and the audit log (access-store.ts). */
  readonly access: AccessStore;
  /** Passwords, web sessions, device grants and OpenID Connect subjects (sign-in-store.ts). */
  readonly signIn: SignInStore;
  migrate(): Promise<void>;
  /** True when every migration this server knows is applied; throws when the database does not answer. */
  migrationsDone(): Promise<boolean>;
  close(): Promise<void>;
  /** How busy the database's connections are (metrics). */
  usage?(): { open: number; idle: number; waiting: number };
}

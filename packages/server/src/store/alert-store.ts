import type { AlertDefinition, AlertState, NotificationChannel } from '@simscope/protocol';

export type { AlertDefinition };

export interface AlertRecord extends AlertDefinition {
  pk: number;
  id: string;
  workspaceId: string;
  name: string;
  createdAt: number;
  /** False when the stored definition no longer passes the server's checks; it is then never evaluated. */
  enabled: boolean;
  /** Why it is disabled, naming the field; null when enabled. */
  error: string | null;
}

export interface NewAlert extends AlertDefinition {
  id: string;
  workspaceId: string;
  name: string;
  createdAt: number;
}

/** One alert attached to one run, with the run's state for it. */
export interface RunAlertRecord {
  runPk: number;
  runId: string;
  runName: string;
  alert: AlertRecord;
  state: AlertState;
  since: number;
  evaluatedAt: number | null;
  nextEvalAt: number | null;
  lastValue: number | null;
}

export interface AlertListRecord extends AlertRecord {
  runs: number;
  critical: number;
}

export interface TransitionRecord {
  pk: number;
  at: number;
  from: AlertState;
  to: AlertState;
  value: number | null;
  message: string;
}

/** A (run, alert) pair whose evaluation is due, with what evaluating it needs. */
export interface DueEvaluation {
  runPk: number;
  runId: string;
  runName: string;
  workspaceId: string;
  alert: AlertRecord;
  state: AlertState;
  /** The scheduled slot: the evaluation covers the window that ends here. */
  slot: number;
  /** The run's series of the alert's metric, when it has one. */
  seriesPk: number | null;
}

/** What one evaluation (or a run of caught-up slots) of a pair decided; applied only if the slot is still `slot`. */
export interface EvaluationOutcome {
  runPk: number;
  alertPk: number;
  /** The slot the evaluation started from (compare-and-set on the schedule). */
  slot: number;
  /** The last slot evaluated; null when none was (a disabled alert), keeping the stored one. */
  evaluatedAt: number | null;
  nextEvalAt: number;
  /** Aggregate of the last window with data; undefined keeps the stored one. */
  value?: number | null;
  /** State changes in order; each is recorded, notified and may abort the run. */
  transitions: StateChange[];
}

/** A change of state and what follows from it. */
export interface StateChange {
  from: AlertState;
  to: AlertState;
  at: number;
  value: number | null;
  message: string;
  /** Channels to notify (empty for none). */
  notify: NotificationChannel[];
  /** Set to ask the run to abort, with this reason. */
  abortReason: string | null;
}

/** A notification to deliver, with what its message needs. */
export interface NotificationJob {
  pk: number;
  id: string;
  channel: NotificationChannel;
  attempts: number;
  transition: TransitionRecord;
  alert: AlertRecord;
  run: { id: string; name: string; ownerEmail: string | null };
  workspace: string;
}

/** Alert definitions, their attachment to runs, states, transition history and the notification outbox. */
export interface AlertStore {
  /** Stores a new definition; a `conflict` error when the name is taken in the workspace. */
  createAlert(alert: NewAlert): Promise<AlertRecord>;
  getAlert(workspaceId: string, idOrName: string): Promise<AlertRecord | undefined>;
  /** Definitions by name after `after`, with how many runs each is attached to and how many are critical. */
  listAlerts(
    workspaceId: string,
    query: { after: string | null; limit: number; criticalOnly: boolean },
  ): Promise<AlertListRecord[]>;
  deleteAlert(workspaceId: string, pk: number): Promise<boolean>;
  /** Replaces a definition; its runs not ended are next evaluated at `nextEvalAt` (null for a user alert). */
  updateAlert(pk: number, definition: AlertDefinition, nextEvalAt: number | null): Promise<void>;

  /** Attaches an alert to a run in state `ok`; false when it was attached already. */
  attachAlert(runPk: number, alertPk: number, at: number, nextEvalAt: number | null): Promise<boolean>;
  detachAlert(runPk: number, alertPk: number): Promise<boolean>;
  getRunAlert(runPk: number, alertPk: number): Promise<RunAlertRecord | undefined>;
  /** A run's alerts by name, after the name `after`. */
  listRunAlerts(
    runPk: number,
    query: { criticalOnly: boolean; after: string | null; limit: number },
  ): Promise<RunAlertRecord[]>;
  /** The runs an alert is attached to, by run name after the name `after`. */
  listAlertRuns(
    alertPk: number,
    query: { criticalOnly: boolean; after: string | null; limit: number },
  ): Promise<RunAlertRecord[]>;
  listTransitions(
    runPk: number,
    alertPk: number,
    query: { after: number | null; limit: number },
  ): Promise<TransitionRecord[]>;

  /** Pairs of alerts and runs that have not ended whose slot is at or before `until`, earliest first. */
  dueEvaluations(until: number, limit: number): Promise<DueEvaluation[]>;
  /**
   * Applies outcomes in one transaction; an outcome whose pair's slot moved on (another process evaluated it)
   * is skipped. Returns how many were applied.
   */
  applyEvaluations(outcomes: readonly EvaluationOutcome[]): Promise<number>;
  /** Sets a user alert's state; returns the change made, or null when the state was already that. */
  setState(
    runPk: number,
    alertPk: number,
    change: Omit<StateChange, 'from'>,
  ): Promise<(StateChange & { transitionPk: number }) | null>;
  /** Largest point timestamp of a series, null when it has none. */
  lastPointTimestamp(seriesPk: number): Promise<number | null>;
  /** Largest event timestamp of a run, null when it has none. */
  lastEventTimestamp(runPk: number): Promise<number | null>;

  /** Claims up to `limit` notifications due at `now` until `leaseUntil`, so that no other process sends them. */
  claimNotifications(now: number, leaseUntil: number, limit: number): Promise<NotificationJob[]>;
  /** Marks a notification sent. */
  notificationSent(pk: number, at: number): Promise<void>;
  /** Records a failed attempt: retried at `retryAt`, or given up (`failed`) when it is null. */
  notificationFailed(pk: number, error: string, retryAt: number | null): Promise<void>;
  /** Notifications of a transition, for tests and the history view: channel, status, attempts. */
  listNotifications(
    transitionPk: number,
  ): Promise<
    { id: string; channel: NotificationChannel; status: string; attempts: number; error: string | null }[]
  >;
}

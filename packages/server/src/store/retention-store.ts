/** What a retention rule does to the runs it reaches. */
const RETENTION_ACTIONS = ['delete', 'downsample'] as const;
export type RetentionAction = (typeof RETENTION_ACTIONS)[number];

/** A retention rule: runs of a workspace (or of one folder and its subfolders) older than some days. */
export interface RetentionRuleRecord {
  id: string;
  workspaceId: string;
  /** Folder path the rule covers with its subfolders; null for the whole workspace. */
  folder: string | null;
  action: RetentionAction;
  olderThanDays: number;
  /** For `downsample`: buckets each series keeps at most (M4: up to 4 points each). */
  buckets: number | null;
  createdAt: number;
}

/** A run a rule reaches. */
export interface ExpiredRun {
  pk: number;
  id: string;
  workspaceId: string;
}

/** Retention rules and the runs they reach; part of `Store`. */
export interface RetentionStore {
  createRule(rule: RetentionRuleRecord): Promise<RetentionRuleRecord>;
  /** Rules of one workspace, or of all when `workspaceId` is absent, oldest first. */
  listRules(workspaceId?: string): Promise<RetentionRuleRecord[]>;
  deleteRule(workspaceId: string, id: string): Promise<boolean>;
  /**
   * Up to `limit` runs the rule reaches: not running, last active (ended, else last heartbeat, else created)
   * before `before` (micros); for `downsample`, not downsampled already.
   */
  expiredRuns(rule: RetentionRuleRecord, before: number, limit: number): Promise<ExpiredRun[]>;
  /** Records that a run's series were downsampled to `buckets`, so later passes skip it. */
  markDownsampled(runPk: number, buckets: number, at: number): Promise<void>;
}

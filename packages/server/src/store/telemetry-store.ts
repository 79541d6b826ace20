import type { Json, JsonObject } from '@simscope/protocol';
import type { BatchKey } from './metric-store.js';

/** A telemetry service of a workspace, named by its endpoint path (`intake/catalog`). */
export interface TelemetryServiceRecord {
  pk: number;
  workspaceId: string;
  path: string;
  createdAt: number;
}

export interface TelemetryServiceSummary extends TelemetryServiceRecord {
  records: number;
  first: number | null;
  last: number | null;
}

/** An ingest-only key: it may add records to one service and do nothing else. */
export interface TelemetryKeyRecord {
  id: string;
  servicePk: number;
  name: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface TelemetryKeyListRecord extends TelemetryKeyRecord {
  servicePath: string;
  workspaceId: string;
  workspaceName: string;
}

export interface NewTelemetryRecord {
  timestamp: number;
  function: string;
  sessionId: string | null;
  args: Json[];
  kwargs: JsonObject;
  extra: JsonObject;
}

export interface TelemetryRecordRow extends NewTelemetryRecord {
  pk: number;
}

export interface TelemetryRecordQuery {
  functions: string[] | null;
  sessionId: string | null;
  from: number | null;
  to: number | null;
  after: { timestamp: number; pk: number } | null;
  limit: number;
  descending: boolean;
}

export interface TelemetryUsageQuery {
  /** Microseconds; `from` is the start of bucket 0. */
  from: number;
  to: number;
  /** Bucket width in microseconds. */
  bucket: number;
  functions: string[] | null;
}

/** Calls of one function in one bucket (`bucket` counts from 0 at the query's `from`). */
export interface TelemetryUsageRow {
  function: string;
  bucket: number;
  count: number;
}

/** Telemetry services, their keys and records, and the batches already stored. */
export interface TelemetryStore {
  /** The service of `path` in the workspace, created when missing. */
  ensureService(workspaceId: string, path: string, at: number): Promise<TelemetryServiceRecord>;
  getService(workspaceId: string, path: string): Promise<TelemetryServiceRecord | undefined>;
  listServices(workspaceId: string): Promise<TelemetryServiceSummary[]>;

  createKey(key: TelemetryKeyRecord, hash: string): Promise<void>;
  findKey(hash: string): Promise<{ key: TelemetryKeyRecord; service: TelemetryServiceRecord } | undefined>;
  /** Keys of every workspace, or of one service path. */
  listKeys(servicePath: string | null): Promise<TelemetryKeyListRecord[]>;
  revokeKey(id: string, at: number): Promise<boolean>;

  /** Stores a batch once per (service, writer, seq); returns false when it was stored before. */
  appendRecords(servicePk: number, key: BatchKey, records: readonly NewTelemetryRecord[]): Promise<boolean>;
  listRecords(servicePk: number, query: TelemetryRecordQuery): Promise<TelemetryRecordRow[]>;
  usage(servicePk: number, query: TelemetryUsageQuery): Promise<TelemetryUsageRow[]>;
}

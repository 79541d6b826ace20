import type { EventLevel } from '@simscope/protocol';
import type { BatchKey } from './metric-store.js';

export interface EventRecord {
  pk: number;
  timestamp: number;
  level: EventLevel;
  message: string;
  /** The run segment that logged it. */
  segment: number;
}

export interface NewEvent {
  timestamp: number;
  level: EventLevel;
  message: string;
}

export interface EventQuery {
  search: string | null;
  levels: EventLevel[] | null;
  from: number | null;
  to: number | null;
  after: { timestamp: number; pk: number } | null;
  limit: number;
  descending: boolean;
}

/** A run's events (logs); part of `Store`. */
export interface EventStore {
  /** Stores an event batch once per (run, writer, seq); returns false when it was stored before. */
  appendEvents(runPk: number, key: BatchKey, events: readonly NewEvent[], segment?: number): Promise<boolean>;
  /** Events in time order (then insertion order), filtered and paged by `query`. */
  listEvents(runPk: number, query: EventQuery): Promise<EventRecord[]>;
}

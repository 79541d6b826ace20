import type { RunView } from '@simscope/protocol';

/** A run was created or changed (status, heartbeat, abort request, fields); carries the run as the API shows it. */
interface RunChanged {
  type: 'run.changed';
  workspaceId: string;
  run: RunView;
}

/** A run was deleted. */
interface RunDeleted {
  type: 'run.deleted';
  workspaceId: string;
  runId: string;
}

/** A metric batch was stored (not a replay); `names` are its series that got points, `points` how many. */
interface MetricsAppended {
  type: 'metrics.appended';
  workspaceId: string;
  runId: string;
  names: string[];
  points: number;
}

/** An event batch of `events` events was stored (not a replay). */
interface EventsAppended {
  type: 'events.appended';
  workspaceId: string;
  runId: string;
  events: number;
}

/** A folder was created, changed or deleted (with its subfolders and runs when recursive). */
interface FolderChanged {
  type: 'folder.changed';
  workspaceId: string;
  path: string;
}

/** A member left a workspace (removed by an owner): their open live streams in it close. */
export interface MembershipRemoved {
  type: 'membership.removed';
  workspaceId: string;
  userId: string;
}

/** What services tell the rest of the server after a write has committed. */
export type DomainEvent =
  | RunChanged
  | RunDeleted
  | MetricsAppended
  | EventsAppended
  | FolderChanged
  | MembershipRemoved;

/** Where an event comes from: a write taken by this process, or by another one (through the PostgreSQL bridge). */
export type EventOrigin = 'local' | 'remote';

/** Told of each event; count-like listeners (metrics) skip `remote` ones, which the other process counts. */
export type DomainEventListener = (event: DomainEvent, origin: EventOrigin) => void;

export interface DomainEventsConfig {
  /** Told when a listener throws; the publishing write has committed already, so it never fails because of one. */
  onError?(error: unknown, event: DomainEvent): void;
}

/**
 * The in-process bus that services publish domain events on, after the write they describe has committed, and that
 * the live hub (and anything else that reacts to changes) subscribes to. Delivery is synchronous, in subscription
 * order, within this process.
 *
 * Over PostgreSQL, `PostgresEventBridge` (event-bridge.ts) subscribes here to send each event to the other server
 * processes through `LISTEN/NOTIFY` and publishes the ones they send, so publishers and subscribers stay as they
 * are; on SQLite there is one process and the bus stays in it.
 *
 * @example
 * const bus = new DomainEvents();
 * const stop = bus.subscribe((e) => { if (e.type === 'run.deleted') console.log(e.runId); });
 * bus.publish({ type: 'run.deleted', workspaceId: 'w', runId: 'r' });
 * stop();
 */
export class DomainEvents {
  readonly #listeners = new Set<DomainEventListener>();
  readonly #onError: (error: unknown, event: DomainEvent) => void;

  constructor(config: DomainEventsConfig = {}) {
    this.#onError = config.onError ?? (() => {});
  }

  /** Listens to every event; returns the function that stops listening. */
  subscribe(listener: DomainEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.unsubscribe(listener);
  }

  unsubscribe(listener: DomainEventListener): void {
    this.#listeners.delete(listener);
  }

  /**
   * Tells every listener; call it only once the change is committed (`origin` is `remote` only for the bridge's
   * events of other processes). A listener that throws is reported, not rethrown.
   */
  publish(event: DomainEvent, origin: EventOrigin = 'local'): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event, origin);
      } catch (error) {
        this.#onError(error, event);
      }
    }
  }

  /** Number of listeners. */
  get size(): number {
    return this.#listeners.size;
  }
}

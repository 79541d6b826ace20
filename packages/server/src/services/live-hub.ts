import type { LiveMessage } from '@simscope/protocol';
import type { DomainEvent, DomainEvents, MembershipRemoved } from './domain-events.js';

export type { LiveMessage };

export type LiveListener = (message: LiveMessage) => void;

/** The message browsers are sent for a domain event. */
function liveMessage(event: Exclude<DomainEvent, MembershipRemoved>): LiveMessage {
  switch (event.type) {
    case 'run.changed':
      return { type: 'run', run: event.run };
    case 'run.deleted':
      return { type: 'deleted', run: event.runId };
    case 'metrics.appended':
      return { type: 'metrics', run: event.runId, names: event.names };
    case 'events.appended':
      return { type: 'events', run: event.runId };
    case 'folder.changed':
      return { type: 'folder', path: event.path };
  }
}

/**
 * Fans changes out to the live connections of each workspace. It hears of changes from the domain event bus
 * (`connect`), so it sees what the bus carries: today this process's writes, later those of every process.
 */
export class LiveHub {
  readonly #listeners = new Map<string, Set<LiveListener>>();
  readonly #accessListeners = new Set<() => void>();

  /** Listens to one workspace's changes; returns the function that stops listening. */
  subscribe(workspaceId: string, listener: LiveListener): () => void {
    let set = this.#listeners.get(workspaceId);
    if (!set) {
      set = new Set();
      this.#listeners.set(workspaceId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(workspaceId) === set) this.#listeners.delete(workspaceId);
    };
  }

  /** Turns the bus's events into messages for the workspaces' streams; returns the function that disconnects. */
  connect(bus: DomainEvents): () => void {
    return bus.subscribe((event) => {
      // A removed member's streams find, on their check, that the membership is gone, and close.
      if (event.type === 'membership.removed') return this.accessChanged();
      if (this.watched(event.workspaceId)) this.publish(event.workspaceId, liveMessage(event));
    });
  }

  /** Whether anyone listens to the workspace (so publishers can skip the work of building a message). */
  watched(workspaceId: string): boolean {
    return this.#listeners.has(workspaceId);
  }

  publish(workspaceId: string, message: LiveMessage): void {
    const set = this.#listeners.get(workspaceId);
    if (!set) return;
    for (const listener of set) listener(message);
  }

  /** Listens for changes of who may read what in this process; returns the function that stops listening. */
  onAccessChange(listener: () => void): () => void {
    this.#accessListeners.add(listener);
    return () => this.#accessListeners.delete(listener);
  }

  /** Tells every open stream to check its token and membership again now (a token revoked, a member removed). */
  accessChanged(): void {
    for (const listener of this.#accessListeners) listener();
  }

  /** Number of listeners over all workspaces. */
  get size(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }
}

import type { RunView } from '@simscope/protocol';

/** A change that browsers watching a workspace are told about. */
export type LiveMessage =
  | { type: 'run'; run: RunView }
  | { type: 'deleted'; run: string }
  | { type: 'metrics'; run: string; names: string[] }
  | { type: 'events'; run: string }
  | { type: 'folder'; path: string };

export type LiveListener = (message: LiveMessage) => void;

/**
 * Fans changes out to the live connections of each workspace, within this process. Several server processes
 * over one database each tell only the browsers connected to them.
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

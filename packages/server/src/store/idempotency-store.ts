/** The first answer to a request sent with an `Idempotency-Key`, as kept for a repeat. */
export interface IdempotentAnswer {
  status: number;
  contentType: string | null;
  body: Buffer;
}

/** A key as another request left it: still running (no answer) or finished. */
export interface IdempotencyClaim {
  fingerprint: string;
  answer: IdempotentAnswer | null;
  expiresAt: number;
}

/** Bounds on what is kept; the oldest answers go first. */
export interface IdempotencyBounds {
  maxEntries: number;
  maxTotalBytes: number;
}

/**
 * Idempotency keys and their answers, in the database so that every server process sees them: a retry that a
 * load balancer sends to another server replays the first answer. Times are in ms since the epoch.
 */
export interface IdempotencyStore {
  /**
   * Takes `id` for a request about to run (dropping an expired claim first); answers null when taken, or the claim
   * already there when another request holds it.
   */
  claim(id: string, fingerprint: string, now: number, expiresAt: number): Promise<IdempotencyClaim | null>;
  /** The key's claim, or null when it is gone (forgotten, pruned or never taken). */
  get(id: string): Promise<IdempotencyClaim | null>;
  /** Keeps the answer of the request that holds `id`. */
  answer(id: string, answer: IdempotentAnswer): Promise<void>;
  /** Forgets `id`, so a retry runs again. */
  forget(id: string): Promise<void>;
  /** Drops expired keys, then the oldest beyond the bounds. */
  prune(now: number, bounds: IdempotencyBounds): Promise<void>;
}

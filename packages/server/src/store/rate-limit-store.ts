/** An amount to add to one key's current fixed window, refused when the window would pass `limit`. */
export interface RateCharge {
  /** Who is counted and for what, such as `token:tok_1:requests`. */
  key: string;
  limit: number;
  /** Length of the key's windows in seconds; windows start at multiples of it. */
  windowSeconds: number;
  amount: number;
}

/** Fixed-window counters of the rate limits, shared by every server process through the database; part of `Store`. */
export interface RateLimitStore {
  /**
   * Adds every charge to its window, all or none. A charge is refused when its window already holds something and
   * would pass its limit (so one request larger than a limit still passes in an empty window). Returns the first
   * refused charge and the second its window ends, or null when all were added.
   */
  charge(
    charges: readonly RateCharge[],
    nowSeconds: number,
  ): Promise<{ refused: RateCharge; resetAt: number } | null>;
  /** Forgets windows that started before `beforeSeconds`; returns how many. */
  prune(beforeSeconds: number): Promise<number>;
}

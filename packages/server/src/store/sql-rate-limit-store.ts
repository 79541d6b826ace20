import type { RateCharge, RateLimitStore } from './rate-limit-store.js';
import type { SqlDriver } from './sql-driver.js';
import { num } from './sql-rows.js';

/** Thrown inside the transaction to roll back the charges already added. */
class Refused {
  constructor(
    readonly refused: RateCharge,
    readonly resetAt: number,
  ) {}
}

/** Rate windows over any SQL driver: one upsert per charge, in one transaction, keys in a fixed order. */
export class SqlRateLimitStore implements RateLimitStore {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  async charge(
    charges: readonly RateCharge[],
    nowSeconds: number,
  ): Promise<{ refused: RateCharge; resetAt: number } | null> {
    if (charges.length === 0) return null;
    // Keys in one order everywhere, so that two processes charging the same keys cannot deadlock.
    const sorted = [...charges].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    try {
      await this.#db.transaction(async (tx) => {
        for (const charge of sorted) {
          const start = Math.floor(nowSeconds / charge.windowSeconds) * charge.windowSeconds;
          const row = await tx.get(
            `INSERT INTO rate_windows (key, window_start, used) VALUES (?, ?, ?)
             ON CONFLICT (key, window_start) DO UPDATE SET used = rate_windows.used + excluded.used
             RETURNING used`,
            [charge.key, start, charge.amount],
          );
          if (!row) throw new Error('INSERT … RETURNING gave no row');
          const used = num(row.used);
          if (used > charge.limit && used - charge.amount > 0) {
            throw new Refused(charge, start + charge.windowSeconds);
          }
        }
      });
      return null;
    } catch (error) {
      if (error instanceof Refused) return { refused: error.refused, resetAt: error.resetAt };
      throw error;
    }
  }

  prune(beforeSeconds: number): Promise<number> {
    return this.#db.run('DELETE FROM rate_windows WHERE window_start < ?', [beforeSeconds]);
  }
}

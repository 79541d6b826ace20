import type {
  IdempotencyBounds,
  IdempotencyClaim,
  IdempotencyStore,
  IdempotentAnswer,
} from './idempotency-store.js';
import type { SqlDriver } from './sql-driver.js';

interface ClaimRow {
  [column: string]: unknown;
  fingerprint: string;
  status: number | null;
  content_type: string | null;
  body: Uint8Array | null;
  expires_at: number;
}

const toClaim = (row: ClaimRow): IdempotencyClaim => ({
  fingerprint: row.fingerprint,
  expiresAt: Number(row.expires_at),
  answer:
    row.status === null
      ? null
      : {
          status: Number(row.status),
          contentType: row.content_type,
          body: Buffer.from(row.body ?? new Uint8Array()),
        },
});

/** Idempotency keys in the `idempotency_keys` table (migration 7). */
export class SqlIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: SqlDriver) {}

  async claim(
    id: string,
    fingerprint: string,
    now: number,
    expiresAt: number,
  ): Promise<IdempotencyClaim | null> {
    await this.db.run('DELETE FROM idempotency_keys WHERE id = ? AND expires_at <= ?', [id, now]);
    for (;;) {
      const taken = await this.db.run(
        'INSERT INTO idempotency_keys (id, fingerprint, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
        [id, fingerprint, expiresAt],
      );
      if (taken > 0) return null;
      const held = await this.get(id);
      if (held) return held;
      // Forgotten between the insert and the read: try again.
    }
  }

  async get(id: string): Promise<IdempotencyClaim | null> {
    const row = await this.db.get<ClaimRow>(
      'SELECT fingerprint, status, content_type, body, expires_at FROM idempotency_keys WHERE id = ?',
      [id],
    );
    return row ? toClaim(row) : null;
  }

  async answer(id: string, answer: IdempotentAnswer): Promise<void> {
    await this.db.run(
      'UPDATE idempotency_keys SET status = ?, content_type = ?, body = ?, size = ? WHERE id = ?',
      [answer.status, answer.contentType, answer.body, answer.body.length, id],
    );
  }

  async forget(id: string): Promise<void> {
    await this.db.run('DELETE FROM idempotency_keys WHERE id = ?', [id]);
  }

  async prune(now: number, bounds: IdempotencyBounds): Promise<void> {
    await this.db.run('DELETE FROM idempotency_keys WHERE expires_at <= ?', [now]);
    await this.db.run(
      'DELETE FROM idempotency_keys WHERE pk <= (SELECT pk FROM idempotency_keys ORDER BY pk DESC LIMIT 1 OFFSET ?)',
      [bounds.maxEntries],
    );
    await this.db.run(
      `DELETE FROM idempotency_keys WHERE pk <= (
         SELECT MAX(pk) FROM (SELECT pk, SUM(size) OVER (ORDER BY pk DESC) AS total FROM idempotency_keys) kept
         WHERE total > ?)`,
      [bounds.maxTotalBytes],
    );
  }
}

import type { TokenScope } from '@simscope/protocol';
import type {
  DeviceDecision,
  DeviceGrantRecord,
  DeviceGrantStatus,
  SessionMethod,
  SignInStore,
  WebSessionRecord,
} from './sign-in-store.js';
import type { SqlDriver, SqlRow } from './sql-driver.js';
import { num, numOrNull, strOrNull } from './sql-rows.js';

function scopeList(value: unknown): TokenScope[] | null {
  return value === null || value === undefined ? null : (String(value).split(',') as TokenScope[]);
}

function grant(row: SqlRow): DeviceGrantRecord {
  return {
    deviceHash: String(row.device_hash),
    userCode: String(row.user_code),
    clientId: String(row.client_id),
    scopes: scopeList(row.scopes) ?? [],
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    intervalSeconds: num(row.interval_s),
    polledAt: numOrNull(row.polled_at),
    status: String(row.status) as DeviceGrantStatus,
    userId: strOrNull(row.user_id),
    grantScopes: scopeList(row.grant_scopes),
    tokenSeconds: numOrNull(row.token_seconds),
  };
}

/** Passwords, web sessions, device grants and OpenID Connect subjects over any SQL driver. */
export class SqlSignInStore implements SignInStore {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  async setPassword(userId: string, hash: string, at: number): Promise<void> {
    await this.#db.run(
      `INSERT INTO user_passwords (user_id, hash, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
      [userId, hash, at],
    );
  }

  async getPassword(userId: string): Promise<string | undefined> {
    const row = await this.#db.get('SELECT hash FROM user_passwords WHERE user_id = ?', [userId]);
    return row ? String(row.hash) : undefined;
  }

  async addSession(session: Omit<WebSessionRecord, 'expiresAt'>): Promise<void> {
    await this.#db.run(
      'INSERT INTO web_sessions (token_id, user_id, method, user_agent, address, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [
        session.tokenId,
        session.userId,
        session.method,
        session.userAgent,
        session.address,
        session.createdAt,
      ],
    );
  }

  async listSessions(userId: string, now: number): Promise<WebSessionRecord[]> {
    const rows = await this.#db.all(
      `SELECT s.*, t.expires_at FROM web_sessions s JOIN tokens t ON t.id = s.token_id
       WHERE s.user_id = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)
       ORDER BY s.created_at DESC, s.token_id`,
      [userId, now],
    );
    return rows.map((row) => ({
      tokenId: String(row.token_id),
      userId: String(row.user_id),
      method: String(row.method) as SessionMethod,
      userAgent: strOrNull(row.user_agent),
      address: strOrNull(row.address),
      createdAt: num(row.created_at),
      expiresAt: numOrNull(row.expires_at),
    }));
  }

  async sessionTokenIds(userId: string): Promise<Set<string>> {
    const rows = await this.#db.all('SELECT token_id FROM web_sessions WHERE user_id = ?', [userId]);
    return new Set(rows.map((r) => String(r.token_id)));
  }

  revokeSessions(userId: string, at: number, tokenId?: string): Promise<number> {
    const one = tokenId === undefined ? '' : ' AND id = ?';
    return this.#db.run(
      `UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL${one}
         AND id IN (SELECT token_id FROM web_sessions WHERE user_id = ?)`,
      tokenId === undefined ? [at, userId, userId] : [at, userId, tokenId, userId],
    );
  }

  async createDeviceGrant(g: DeviceGrantRecord): Promise<void> {
    await this.#db.run(
      `INSERT INTO device_grants (device_hash, user_code, client_id, scopes, created_at, expires_at, interval_s,
         polled_at, status, user_id, grant_scopes, token_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        g.deviceHash,
        g.userCode,
        g.clientId,
        g.scopes.join(','),
        g.createdAt,
        g.expiresAt,
        g.intervalSeconds,
        g.polledAt,
        g.status,
        g.userId,
        g.grantScopes?.join(',') ?? null,
        g.tokenSeconds,
      ],
    );
  }

  async findDeviceGrant(
    by: { deviceHash: string } | { userCode: string },
  ): Promise<DeviceGrantRecord | undefined> {
    const row =
      'deviceHash' in by
        ? await this.#db.get('SELECT * FROM device_grants WHERE device_hash = ?', [by.deviceHash])
        : await this.#db.get('SELECT * FROM device_grants WHERE user_code = ?', [by.userCode]);
    return row && grant(row);
  }

  async markPolled(deviceHash: string, at: number, intervalSeconds: number): Promise<void> {
    await this.#db.run('UPDATE device_grants SET polled_at = ?, interval_s = ? WHERE device_hash = ?', [
      at,
      intervalSeconds,
      deviceHash,
    ]);
  }

  async decideDeviceGrant(userCode: string, decision: DeviceDecision): Promise<boolean> {
    const scopes = decision.status === 'approved' ? decision.scopes.join(',') : null;
    const seconds = decision.status === 'approved' ? decision.tokenSeconds : null;
    const changed = await this.#db.run(
      `UPDATE device_grants SET status = ?, user_id = ?, grant_scopes = ?, token_seconds = ?
       WHERE user_code = ? AND status = 'pending'`,
      [decision.status, decision.userId, scopes, seconds, userCode],
    );
    return changed > 0;
  }

  async useDeviceGrant(deviceHash: string): Promise<boolean> {
    const changed = await this.#db.run(
      "UPDATE device_grants SET status = 'used' WHERE device_hash = ? AND status = 'approved'",
      [deviceHash],
    );
    return changed > 0;
  }

  pruneDeviceGrants(before: number): Promise<number> {
    return this.#db.run('DELETE FROM device_grants WHERE expires_at < ?', [before]);
  }

  async findOidcUser(issuer: string, subject: string): Promise<string | undefined> {
    const row = await this.#db.get('SELECT user_id FROM oidc_identities WHERE issuer = ? AND subject = ?', [
      issuer,
      subject,
    ]);
    return row ? String(row.user_id) : undefined;
  }

  async linkOidcUser(issuer: string, subject: string, userId: string, at: number): Promise<void> {
    await this.#db.run(
      'INSERT INTO oidc_identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [issuer, subject, userId, at],
    );
  }
}

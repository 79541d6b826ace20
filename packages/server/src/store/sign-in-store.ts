import type { TokenScope } from '@simscope/protocol';

/** How a web session was opened. */
export type SessionMethod = 'password' | 'oidc';

export interface WebSessionRecord {
  /** The id of the session's token row. */
  tokenId: string;
  userId: string;
  method: SessionMethod;
  userAgent: string | null;
  address: string | null;
  createdAt: number;
  expiresAt: number | null;
}

const DEVICE_GRANT_STATUSES = ['pending', 'approved', 'denied', 'used'] as const;
export type DeviceGrantStatus = (typeof DEVICE_GRANT_STATUSES)[number];

export interface DeviceGrantRecord {
  deviceHash: string;
  userCode: string;
  clientId: string;
  /** Scopes the device asked for. */
  scopes: TokenScope[];
  createdAt: number;
  expiresAt: number;
  intervalSeconds: number;
  polledAt: number | null;
  status: DeviceGrantStatus;
  userId: string | null;
  /** Scopes and lifetime (seconds, null for none) the approving user granted. */
  grantScopes: TokenScope[] | null;
  tokenSeconds: number | null;
}

/** What the user said to a device grant: approved with the scopes and token lifetime granted, or denied. */
export type DeviceDecision =
  | { status: 'approved'; userId: string; scopes: TokenScope[]; tokenSeconds: number | null }
  | { status: 'denied'; userId: string };

/** Password hashes, web sessions, device grants and OpenID Connect subjects; part of `Store`. */
export interface SignInStore {
  setPassword(userId: string, hash: string, at: number): Promise<void>;
  getPassword(userId: string): Promise<string | undefined>;

  addSession(session: Omit<WebSessionRecord, 'expiresAt'>): Promise<void>;
  /** A user's sessions not revoked and not expired at `now`, newest first. */
  listSessions(userId: string, now: number): Promise<WebSessionRecord[]>;
  /** The token ids of every session a user ever opened. */
  sessionTokenIds(userId: string): Promise<Set<string>>;
  /** Revokes the session tokens of a user (all, or the one with `tokenId`); returns how many. */
  revokeSessions(userId: string, at: number, tokenId?: string): Promise<number>;

  createDeviceGrant(grant: DeviceGrantRecord): Promise<void>;
  findDeviceGrant(by: { deviceHash: string } | { userCode: string }): Promise<DeviceGrantRecord | undefined>;
  /** Records a poll and, when one came sooner than the interval, a longer interval. */
  markPolled(deviceHash: string, at: number, intervalSeconds: number): Promise<void>;
  /** Moves a pending grant to approved or denied; false when it was no longer pending. */
  decideDeviceGrant(userCode: string, decision: DeviceDecision): Promise<boolean>;
  /** Moves an approved grant to used; false when another poll did so first (a device code is used once). */
  useDeviceGrant(deviceHash: string): Promise<boolean>;
  pruneDeviceGrants(before: number): Promise<number>;

  findOidcUser(issuer: string, subject: string): Promise<string | undefined>;
  linkOidcUser(issuer: string, subject: string, userId: string, at: number): Promise<void>;
}

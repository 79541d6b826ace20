import type { TokenScope, WorkspaceRole } from '@simscope/protocol';
import type { ShareRecord } from '../store/access-store.js';
import type { Store, TokenRecord, UserRecord, WorkspaceRecord } from '../store/store.js';
import type { DomainEvents } from './domain-events.js';

/** Who is calling and in which workspace; every service call gets it. */
export interface AuthContext {
  user: UserRecord;
  token: TokenRecord;
  workspace: WorkspaceRecord;
  scopes: ReadonlySet<TokenScope>;
  /** The caller's role in `workspace`, set by the route check (absent on admin and account routes). */
  role?: WorkspaceRole;
  /** The share link the caller came with (reads of one run or folder only). */
  share?: ShareRecord;
}

/** What a service needs besides its input. */
export interface ServiceContext {
  store: Store;
  auth: AuthContext;
  /** Where a service publishes what it changed, once the change is committed. */
  bus: DomainEvents;
  /** Microseconds since the epoch. */
  now(): number;
}

import type { TokenScope } from '@simscope/protocol';
import type { Store, TokenRecord, UserRecord, WorkspaceRecord } from '../store/store.js';
import type { DomainEvents } from './domain-events.js';

/** Who is calling and in which workspace; every service call gets it. */
export interface AuthContext {
  user: UserRecord;
  token: TokenRecord;
  workspace: WorkspaceRecord;
  scopes: ReadonlySet<TokenScope>;
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

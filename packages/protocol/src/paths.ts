/** Prefix of every REST route. */
export const API_PREFIX = '/api/v1';

/** Request header that picks one of the caller's workspaces by name or id. */
export const WORKSPACE_HEADER = 'simscope-workspace';

/** Media type of msgpack bodies, accepted on ingest and offered on series reads. */
export const MSGPACK_TYPE = 'application/msgpack';

/** Default port of the server. */
export const DEFAULT_PORT = 5280;

/** Default host the server listens on. */
export const DEFAULT_HOST = '127.0.0.1';

/** Request header with a client-made key that makes a non-idempotent request safe to send again. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Response header set on an answer replayed for a repeated idempotency key. */
export const IDEMPOTENT_REPLAY_HEADER = 'idempotent-replayed';

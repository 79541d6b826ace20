import { mkdirSync, realpathSync } from 'node:fs';
import type { DataStore, KeyInfo, KeyMode } from '../datastore.js';
import { DatastoreUnavailableError, RecorderError } from '../errors.js';
import { parentPaths, parseKey } from '../key-path.js';
import { assertMode, closedError, groupConflict, keyNotFound, resolveRange } from '../store-rules.js';
import {
  assertSameType,
  decodeBytes,
  decodeText,
  type EncodedValue,
  encodeValue,
  type Value,
  type ValueType,
  valueByteLength,
} from '../value-types.js';
import {
  OWNER_CLIENT_NAME,
  type OwnedRedisServer,
  readServerState,
  removeServerState,
  spawnRedisServer,
  waitForExit,
} from './owned-redis-server.js';
import { decodeHeader, encodeHeader, type RedisHeader } from './redis-header.js';

/** Options of {@link RedisDataStore.connect}. */
export interface RedisDataStoreOptions {
  /** Store name within a recorder; default `redis`. */
  name?: string;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 6379. */
  port?: number;
  /** Database number (`SELECT`); default 0. */
  db?: number;
  /** ACL user name, with `password`. */
  username?: string;
  /** Password (`requirepass` or ACL). */
  password?: string;
  /** Prepended to every Redis key this store uses; default `simrecorder:`. */
  prefix?: string;
  /** Give up connecting after this long; default 2000 ms. */
  connectTimeoutMs?: number;
  /** Give up on a command after this long without a reply; default 30000 ms. */
  commandTimeoutMs?: number;
  /** Arrays bigger than this are split into list elements of this size; default 64 MiB, at most 512 MiB. */
  partBytes?: number;
  /** Bytes asked for per LRANGE when reading; default 64 MiB. */
  readBatchBytes?: number;
}

/** Options of {@link RedisDataStore.start}: the connect options, less `host`'s default meaning. */
export interface RedisDataStoreStartOptions extends RedisDataStoreOptions {
  /** Directory the server persists into (append-only file and snapshots); created if missing. */
  dataDirectory: string;
  /** Address the server binds to and the store connects to; default `127.0.0.1`. */
  host?: string;
  /** Port for a new server; default a free one. A server already running in `dataDirectory` keeps its port. */
  port?: number;
  /** The redis-server program; default `redis-server` on `PATH`. */
  redisServer?: string;
  /** Leave the server running when the store closes, for other processes; default false. */
  keepRunning?: boolean;
  /** Time allowed for a new server to answer; default 10000 ms. */
  startTimeoutMs?: number;
}

type RedisArg = string | Buffer;

/** The part of a node-redis client this store uses, typed structurally. */
interface RedisClientLike {
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  sendCommand(
    args: readonly RedisArg[],
    options?: { typeMapping?: Record<number, unknown> },
  ): Promise<unknown>;
  multi(): RedisMultiLike;
}

interface RedisMultiLike {
  addCommand(args: readonly RedisArg[]): unknown;
  exec(): Promise<unknown[]>;
}

interface RedisModuleLike {
  createClient(options: Record<string, unknown>): RedisClientLike;
  RESP_TYPES: { BLOB_STRING: number };
}

interface RedisEntry extends RedisHeader {
  /** Bytes per value for numeric kinds, `null` for strings and JSON. */
  readonly valueBytes: number | null;
  /** List elements per value. */
  readonly parts: number;
}

const MAX_BULK_BYTES = 512 * 1024 * 1024;
const MAX_COMMAND_BYTES = 256 * 1024 * 1024;
const DEFAULT_PART_BYTES = 64 * 1024 * 1024;
const DEFAULT_READ_BATCH_BYTES = 64 * 1024 * 1024;
const TEXT_READ_BATCH = 4096;
const SHARE_MIN_BYTES = 4096;

/**
 * Stores values in Redis: one binary header per key, and each value as raw little-endian bytes
 * (UTF-8 text for strings and JSON) in a list, split into parts below Redis's 512 MiB limit.
 * @example
 * const redis = await RedisDataStore.connect({ host: '127.0.0.1', port: 6379, db: 1 });
 */
export class RedisDataStore implements DataStore {
  readonly name: string;
  /** Prefix of every Redis key this store uses. */
  readonly prefix: string;
  readonly #client: RedisClientLike;
  readonly #buffers: { typeMapping: Record<number, unknown> };
  readonly #partBytes: number;
  readonly #readBatchBytes: number;
  readonly #where: string;
  readonly #entries = new Map<string, RedisEntry>();
  #closed = false;
  #server: OwnedRedisServer | undefined;
  #keepRunning = false;

  private constructor(
    client: RedisClientLike,
    module: RedisModuleLike,
    where: string,
    options: RedisDataStoreOptions,
  ) {
    this.#client = client;
    this.#buffers = { typeMapping: { [module.RESP_TYPES.BLOB_STRING]: Buffer } };
    this.#where = where;
    this.name = options.name ?? 'redis';
    this.prefix = options.prefix ?? 'simrecorder:';
    this.#partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
    this.#readBatchBytes = options.readBatchBytes ?? DEFAULT_READ_BATCH_BYTES;
  }

  /** Connects to Redis; rejects within `connectTimeoutMs` when it cannot be reached or refuses the password. */
  static async connect(options: RedisDataStoreOptions = {}): Promise<RedisDataStore> {
    validateOptions(options);
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 6379;
    const timeout = options.connectTimeoutMs ?? 2000;
    const where = `${host}:${port}`;
    const module = await loadRedis();
    const client = module.createClient({
      socket: { host, port, connectTimeout: timeout, reconnectStrategy: false },
      database: options.db ?? 0,
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      disableOfflineQueue: true,
      commandOptions: { timeout: options.commandTimeoutMs ?? 30_000 },
    });
    // Without a listener, node-redis would raise socket errors as uncaught exceptions.
    client.on('error', () => {});
    let timer: NodeJS.Timeout | undefined;
    try {
      // The handshake (HELLO/AUTH/SELECT) has no timeout of its own: a silent peer would hang it.
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout);
      });
      await Promise.race([client.connect(), deadline]);
    } catch (cause) {
      try {
        client.destroy();
      } catch {
        // already closed
      }
      throw connectError(cause, where, options.db ?? 0);
    } finally {
      clearTimeout(timer);
    }
    return new RedisDataStore(client, module, where, options);
  }

  /**
   * Runs a `redis-server` that persists into `dataDirectory` and connects to it, as SimRecorder's
   * `RedisDataStore(data_directory=…)` does. A server this method started earlier in the same
   * directory (in this process or one that exited without closing) is reused. The server stops
   * when the last store started on it closes, unless `keepRunning`.
   * @example
   * const redis = await RedisDataStore.start({ dataDirectory: 'output/redis' });
   */
  static async start(options: RedisDataStoreStartOptions): Promise<RedisDataStore> {
    if (typeof options?.dataDirectory !== 'string' || options.dataDirectory === '') {
      throw new RecorderError('invalid_option', 'dataDirectory must be a non-empty path');
    }
    validateOptions(options);
    mkdirSync(options.dataDirectory, { recursive: true });
    const dataDirectory = realpathSync(options.dataDirectory);
    const host = options.host ?? '127.0.0.1';
    let store = await RedisDataStore.#reuse(dataDirectory, options);
    if (!store) {
      const { port } = await spawnRedisServer({
        dataDirectory,
        host,
        port: options.port,
        password: options.password,
        binary: options.redisServer ?? 'redis-server',
        timeoutMs: options.startTimeoutMs ?? 10_000,
      });
      store = await RedisDataStore.connect({ ...options, host, port });
    }
    try {
      await store.#send(['CLIENT', 'SETNAME', OWNER_CLIENT_NAME]);
      const info = String(await store.#send(['INFO', 'server']));
      const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
      const port = Number(/tcp_port:(\d+)/.exec(info)?.[1]);
      store.#server = {
        host: store.#where.slice(0, store.#where.lastIndexOf(':')),
        port,
        pid,
        dataDirectory,
      };
      store.#keepRunning = options.keepRunning ?? false;
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  /** The server `start` runs this store on; `undefined` for a store made by `connect`. */
  get server(): OwnedRedisServer | undefined {
    return this.#server;
  }

  static async #reuse(
    dataDirectory: string,
    options: RedisDataStoreStartOptions,
  ): Promise<RedisDataStore | undefined> {
    const state = readServerState(dataDirectory);
    if (!state) return undefined;
    let store: RedisDataStore;
    try {
      store = await RedisDataStore.connect({ ...options, host: state.host, port: state.port });
    } catch {
      return undefined;
    }
    try {
      const reply = (await store.#send(['CONFIG', 'GET', 'dir'])) as unknown;
      const dir = Array.isArray(reply) ? reply[1] : (reply as Record<string, unknown> | null)?.dir;
      if (dir === dataDirectory) return store;
    } catch {
      // Not a server of ours (CONFIG refused or renamed): start a new one.
    }
    await store.close();
    return undefined;
  }

  async check(key: string, value: Value, mode: KeyMode): Promise<void> {
    await this.#validate(key, encodeValue(value), mode);
  }

  async record(key: string, value: Value): Promise<void> {
    const encoded = encodeValue(value);
    const existing = await this.#validate(key, encoded, 'list');
    const entry = existing ?? this.#newEntry(encoded.type, 'list');
    const elements = this.#elements(entry, encoded);
    if (existing && elements.length === 1) {
      await this.#send(['RPUSH', this.#dataKey(key), ...elements]);
      return;
    }
    const commands = existing ? [] : this.#declareCommands(key, entry);
    commands.push(...pushCommands(this.#dataKey(key), elements));
    await this.#transaction(commands);
    this.#entries.set(key, entry);
  }

  async set(key: string, value: Value): Promise<void> {
    const encoded = encodeValue(value);
    const existing = await this.#validate(key, encoded, 'single');
    const entry = existing ?? this.#newEntry(encoded.type, 'single');
    const commands = existing ? [] : this.#declareCommands(key, entry);
    commands.push(
      ['DEL', this.#dataKey(key)],
      ...pushCommands(this.#dataKey(key), this.#elements(entry, encoded)),
    );
    await this.#transaction(commands);
    this.#entries.set(key, entry);
  }

  async get(key: string): Promise<Value> {
    const entry = await this.#require(key);
    assertMode(key, entry.mode, 'single');
    const elements = (await this.#send(['LRANGE', this.#dataKey(key), '0', '-1'], true)) as Buffer[];
    return this.#decode(entry, elements);
  }

  async getAll(key: string): Promise<Value[]> {
    return this.getRange(key, 0);
  }

  async getRange(key: string, start: number, end?: number): Promise<Value[]> {
    const entry = await this.#require(key);
    assertMode(key, entry.mode, 'list');
    const length = await this.#length(key, entry);
    const [from, to] = resolveRange(length, start, end);
    if (to <= from) return [];
    const perBatch =
      entry.valueBytes === null
        ? TEXT_READ_BATCH
        : Math.max(1, Math.floor(this.#readBatchBytes / Math.max(1, entry.valueBytes)));
    const batches: Promise<unknown>[] = [];
    for (let first = from; first < to; first += perBatch) {
      const last = Math.min(to, first + perBatch);
      const range = [
        'LRANGE',
        this.#dataKey(key),
        String(first * entry.parts),
        String(last * entry.parts - 1),
      ];
      batches.push(this.#send(range, true));
    }
    const elements = ((await Promise.all(batches)) as Buffer[][]).flat();
    if (elements.length !== (to - from) * entry.parts) {
      throw new RecorderError('redis_error', `list ${this.#dataKey(key)} changed while it was read`);
    }
    const values: Value[] = new Array(to - from);
    for (let i = 0; i < values.length; i++) {
      values[i] = this.#decode(entry, elements.slice(i * entry.parts, (i + 1) * entry.parts));
    }
    return values;
  }

  async info(key: string): Promise<KeyInfo | undefined> {
    this.#assertOpen();
    parseKey(key);
    const entry = await this.#load(key);
    if (!entry) return undefined;
    const length = entry.mode === 'single' ? 1 : await this.#length(key, entry);
    return { key, mode: entry.mode, type: entry.type, length };
  }

  async keys(): Promise<string[]> {
    this.#assertOpen();
    const keys = (await this.#send(['SMEMBERS', `${this.prefix}keys`])) as string[];
    return keys.sort();
  }

  /** Every write is sent and answered before `record` resolves, so there is nothing to flush. */
  async flush(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const server = this.#server;
    const stop = server !== undefined && !this.#keepRunning && (await this.#lastOwner());
    this.#closed = true;
    this.#entries.clear();
    if (!stop || !server) {
      try {
        await this.#client.close();
      } catch {
        this.#client.destroy();
      }
      return;
    }
    // SHUTDOWN writes the append-only file and a snapshot, then drops the connection unanswered.
    const reply = await this.#client.sendCommand(['SHUTDOWN']).catch((error: unknown) => error);
    this.#client.destroy();
    try {
      await waitForExit(server.pid, 10_000);
    } catch (cause) {
      throw new RecorderError(
        'redis_error',
        `redis-server at ${this.#where} did not stop: ${reply instanceof Error ? reply.message : String(reply)}`,
        { cause },
      );
    }
    removeServerState(server.dataDirectory);
  }

  async #lastOwner(): Promise<boolean> {
    try {
      const list = String(await this.#send(['CLIENT', 'LIST', 'TYPE', 'normal']));
      return list.split('\n').filter((line) => line.includes(` name=${OWNER_CLIENT_NAME} `)).length <= 1;
    } catch {
      return false;
    }
  }

  /** Deletes every Redis key under this store's prefix (the header, list, key and group sets). */
  async clear(): Promise<void> {
    this.#assertOpen();
    const keys = await this.keys();
    const doomed = [`${this.prefix}keys`, `${this.prefix}groups`];
    for (const key of keys) doomed.push(this.#metaKey(key), this.#dataKey(key));
    for (let i = 0; i < doomed.length; i += 1000) await this.#send(['DEL', ...doomed.slice(i, i + 1000)]);
    this.#entries.clear();
  }

  #metaKey(key: string): string {
    return `${this.prefix}meta:${key}`;
  }

  #dataKey(key: string): string {
    return `${this.prefix}data:${key}`;
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError(this.name);
  }

  async #require(key: string): Promise<RedisEntry> {
    this.#assertOpen();
    parseKey(key);
    const entry = await this.#load(key);
    if (!entry) throw keyNotFound(key, this.name);
    return entry;
  }

  async #load(key: string): Promise<RedisEntry | undefined> {
    const cached = this.#entries.get(key);
    if (cached) return cached;
    const raw = (await this.#send(['GET', this.#metaKey(key)], true)) as Buffer | null;
    if (!raw) return undefined;
    const entry = toEntry(decodeHeader(raw, this.#metaKey(key)));
    this.#entries.set(key, entry);
    return entry;
  }

  async #length(key: string, entry: RedisEntry): Promise<number> {
    const elements = (await this.#send(['LLEN', this.#dataKey(key)])) as number;
    return Math.floor(elements / entry.parts);
  }

  async #validate(key: string, encoded: EncodedValue, mode: KeyMode): Promise<RedisEntry | undefined> {
    this.#assertOpen();
    const segments = parseKey(key);
    const existing = await this.#load(key);
    if (existing) {
      assertMode(key, existing.mode, mode);
      assertSameType(key, existing.type, encoded.type);
      return existing;
    }
    const parents = parentPaths(segments);
    const [isGroup, parentIsKey] = await Promise.all([
      this.#send(['SISMEMBER', `${this.prefix}groups`, key]),
      parents.length > 0 ? this.#send(['SMISMEMBER', `${this.prefix}keys`, ...parents]) : Promise.resolve([]),
    ]);
    if (Number(isGroup) === 1) throw groupConflict(key, `${key}/…`, this.name);
    const hit = (parentIsKey as number[]).findIndex((n) => Number(n) === 1);
    if (hit >= 0) throw groupConflict(key, parents[hit] as string, this.name);
    return undefined;
  }

  #newEntry(type: ValueType, mode: KeyMode): RedisEntry {
    return toEntry({ mode, type, partBytes: type.dtype === null ? 0 : this.#partBytes });
  }

  #declareCommands(key: string, entry: RedisEntry): RedisArg[][] {
    const commands: RedisArg[][] = [
      ['SET', this.#metaKey(key), encodeHeader(entry)],
      ['SADD', `${this.prefix}keys`, key],
    ];
    const parents = parentPaths(key.split('/'));
    if (parents.length > 0) commands.push(['SADD', `${this.prefix}groups`, ...parents]);
    return commands;
  }

  /** The list elements one value is stored as: its bytes in `parts` pieces, or its UTF-8 text. */
  #elements(entry: RedisEntry, encoded: EncodedValue): Buffer[] {
    if (!encoded.bytes) {
      const text = Buffer.from(encoded.text as string, 'utf8');
      if (text.length > MAX_BULK_BYTES) {
        throw new RecorderError(
          'invalid_value',
          `a ${text.length}-byte string exceeds Redis's 512 MiB limit`,
        );
      }
      return [text];
    }
    const { bytes } = encoded;
    const whole = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (entry.parts === 1) return [whole];
    const parts: Buffer[] = [];
    for (let at = 0; at < whole.length; at += entry.partBytes) {
      parts.push(whole.subarray(at, at + entry.partBytes));
    }
    return parts;
  }

  #decode(entry: RedisEntry, elements: Buffer[]): Value {
    if (entry.valueBytes === null) return decodeText(entry.type, (elements[0] as Buffer).toString('utf8'));
    const bytes = elements.length === 1 ? (elements[0] as Buffer) : Buffer.concat(elements);
    if (bytes.length !== entry.valueBytes) {
      throw new RecorderError(
        'redis_error',
        `a value holds ${bytes.length} bytes; ${entry.valueBytes} expected`,
      );
    }
    return decodeBytes(entry.type, bytes, bytes.length >= SHARE_MIN_BYTES);
  }

  async #transaction(commands: RedisArg[][]): Promise<void> {
    this.#assertOpen();
    const multi = this.#client.multi();
    for (const command of commands) multi.addCommand(command);
    try {
      await multi.exec();
    } catch (cause) {
      throw commandError(cause, this.#where);
    }
  }

  async #send(args: RedisArg[], buffers = false): Promise<unknown> {
    this.#assertOpen();
    try {
      return await this.#client.sendCommand(args, buffers ? this.#buffers : undefined);
    } catch (cause) {
      throw commandError(cause, this.#where);
    }
  }
}

function toEntry(header: RedisHeader): RedisEntry {
  const valueBytes = valueByteLength(header.type);
  const parts =
    valueBytes === null || header.partBytes === 0 ? 1 : Math.max(1, Math.ceil(valueBytes / header.partBytes));
  return { ...header, valueBytes, parts };
}

/** RPUSH commands for `elements`, each under 256 MiB so Redis's 1 GiB query buffer is never reached. */
function pushCommands(listKey: string, elements: Buffer[]): RedisArg[][] {
  const commands: RedisArg[][] = [];
  let current: RedisArg[] = ['RPUSH', listKey];
  let bytes = 0;
  for (const element of elements) {
    if (current.length > 2 && bytes + element.length > MAX_COMMAND_BYTES) {
      commands.push(current);
      current = ['RPUSH', listKey];
      bytes = 0;
    }
    current.push(element);
    bytes += element.length;
  }
  commands.push(current);
  return commands;
}

async function loadRedis(): Promise<RedisModuleLike> {
  // A variable specifier keeps TypeScript from resolving the optional package at build time.
  const specifier = '@redis/client';
  try {
    return (await import(specifier)) as RedisModuleLike;
  } catch (cause) {
    throw new RecorderError(
      'module_missing',
      'RedisDataStore needs the optional dependency @redis/client: npm install @redis/client',
      { cause },
    );
  }
}

function connectError(cause: unknown, where: string, db: number): RecorderError {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(message)) {
    return new DatastoreUnavailableError(
      'redis_auth_failed',
      `Redis at ${where} refused the credentials: ${message}`,
      {
        cause,
      },
    );
  }
  if (/DB index|invalid DB/i.test(message)) {
    return new RecorderError('invalid_option', `Redis at ${where} has no database ${db}: ${message}`, {
      cause,
    });
  }
  return new DatastoreUnavailableError('redis_unreachable', `cannot reach Redis at ${where}: ${message}`, {
    cause,
  });
}

function commandError(cause: unknown, where: string): RecorderError {
  if (cause instanceof RecorderError) return cause;
  const name = cause instanceof Error ? cause.name : '';
  const message = cause instanceof Error ? cause.message : String(cause);
  const lost =
    /Closed|Offline|Socket|Timeout|Connection/i.test(name) ||
    /closed|offline|ECONNRESET|EPIPE|timeout|not connected/i.test(message);
  if (lost) {
    return new DatastoreUnavailableError('redis_unreachable', `lost Redis at ${where}: ${message}`, {
      cause,
    });
  }
  return new RecorderError('redis_error', `Redis at ${where} answered: ${message}`, { cause });
}

function validateOptions(options: RedisDataStoreOptions): void {
  const { port, db, partBytes, readBatchBytes, connectTimeoutMs, commandTimeoutMs } = options;
  const check = (ok: boolean, what: string, value: unknown) => {
    if (!ok) throw new RecorderError('invalid_option', `${what}; got ${value}`);
  };
  if (port !== undefined)
    check(Number.isInteger(port) && port > 0 && port < 65536, 'port must be 1–65535', port);
  if (db !== undefined) check(Number.isInteger(db) && db >= 0, 'db must be a non-negative integer', db);
  if (partBytes !== undefined) {
    check(
      Number.isInteger(partBytes) && partBytes >= 1 && partBytes <= MAX_BULK_BYTES,
      'partBytes must be 1 B–512 MiB',
      partBytes,
    );
  }
  if (readBatchBytes !== undefined) {
    check(
      Number.isInteger(readBatchBytes) && readBatchBytes >= 1,
      'readBatchBytes must be a positive integer',
      readBatchBytes,
    );
  }
  for (const [what, value] of [
    ['connectTimeoutMs', connectTimeoutMs],
    ['commandTimeoutMs', commandTimeoutMs],
  ] as const) {
    if (value !== undefined) check(Number.isFinite(value) && value > 0, `${what} must be positive`, value);
  }
}

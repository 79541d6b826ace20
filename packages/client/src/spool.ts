import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';

/** What a spool record asks of the server, in the order it was logged. */
const SPOOL_RECORD_KINDS = ['create', 'metrics', 'events', 'patch', 'folder'] as const;
export type SpoolRecordKind = (typeof SPOOL_RECORD_KINDS)[number];

/** One request kept for later: `metrics` bodies are msgpack batches, the others JSON text. */
export interface SpoolRecord {
  kind: SpoolRecordKind;
  body: Uint8Array;
  /** Byte offset of the record in the file, and of the one after it. */
  offset: number;
  end: number;
}

/** Written once when a run's spool is made: which run, for which server. */
export interface SpoolMeta {
  version: 1;
  runId: string;
  /** Server URL and workspace the run belongs to: `sync` uploads only to that server. */
  url: string;
  workspace: string | null;
  /** The run was never created on the server: its first record is `create`. */
  offline: boolean;
  createdAt: number;
}

const HEADER = 9; // u32 payload length, u32 crc32 of kind byte + payload, u8 kind
const RECORDS = 'records';
const META = 'meta.json';
const LOCK = 'lock';
/** Spooled records reach the disk (fdatasync) at most this long after they were written. */
const SPOOL_SYNC_INTERVAL_MS = 1000;

/** The spool directory: `SIMSCOPE_SPOOL_DIR`, else the option, else `$XDG_DATA_HOME/simscope/spool`. */
export function spoolDirectory(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIMSCOPE_SPOOL_DIR) return resolve(env.SIMSCOPE_SPOOL_DIR);
  if (option) return resolve(option);
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'simscope', 'spool');
}

/** A new run id, made on the client so a run can exist before the server has seen it. */
export function newRunId(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * Appends records to one run's spool file. Each record is one `write` to an append-only file, so a crash of
 * the process loses none that were written (they sit in the OS page cache); `fdatasync` runs at most
 * `SPOOL_SYNC_INTERVAL_MS` after a write and on `close`, which bounds what a crash of the machine can lose.
 */
export class SpoolWriter {
  readonly dir: string;
  readonly meta: SpoolMeta;
  #fd: number;
  #size: number;
  #lastSync = 0;
  #dirty = false;

  private constructor(dir: string, meta: SpoolMeta, fd: number, size: number) {
    this.dir = dir;
    this.meta = meta;
    this.#fd = fd;
    this.#size = size;
  }

  /** Opens (or makes) the spool of `meta.runId` under `root`, and holds its lock. */
  static open(root: string, meta: SpoolMeta): SpoolWriter {
    const dir = join(root, meta.runId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const metaFile = join(dir, META);
    if (!existsSync(metaFile)) {
      writeFileSync(`${metaFile}.tmp`, JSON.stringify(meta), { mode: 0o600 });
      renameSync(`${metaFile}.tmp`, metaFile);
    }
    writeFileSync(join(dir, LOCK), JSON.stringify({ pid: process.pid, host: hostname() }), { mode: 0o600 });
    const fd = openSync(join(dir, RECORDS), 'a', 0o600);
    return new SpoolWriter(dir, readSpoolMeta(dir) ?? meta, fd, fstatSync(fd).size);
  }

  /** Bytes in the file. */
  get size(): number {
    return this.#size;
  }

  append(kind: SpoolRecordKind, body: Uint8Array): void {
    const code = SPOOL_RECORD_KINDS.indexOf(kind);
    const record = Buffer.allocUnsafe(HEADER + body.byteLength);
    record.writeUInt32LE(body.byteLength, 0);
    record.writeUInt8(code, 8);
    record.set(body, HEADER);
    record.writeUInt32LE(crc32(record.subarray(8)), 4);
    let written = 0;
    while (written < record.byteLength) written += writeSync(this.#fd, record, written);
    this.#size += record.byteLength;
    this.#dirty = true;
    const now = performance.now();
    if (now - this.#lastSync >= SPOOL_SYNC_INTERVAL_MS) this.sync(now);
  }

  /** Forces written records to disk. */
  sync(now = performance.now()): void {
    if (this.#dirty) fdatasyncSync(this.#fd);
    this.#dirty = false;
    this.#lastSync = now;
  }

  /** Syncs, closes the file and releases the lock; the records stay for `sync`. */
  close(): void {
    if (this.#fd < 0) return;
    this.sync();
    closeSync(this.#fd);
    this.#fd = -1;
    rmSync(join(this.dir, LOCK), { force: true });
  }
}

function readSpoolMeta(dir: string): SpoolMeta | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, META), 'utf8')) as SpoolMeta;
  } catch {
    return undefined;
  }
}

/** The process holding a spool's lock, when it may still be running: on this host and alive, or elsewhere. */
export function spoolHolder(dir: string): { pid: number; host: string } | undefined {
  let lock: { pid: number; host: string };
  try {
    lock = JSON.parse(readFileSync(join(dir, LOCK), 'utf8'));
  } catch {
    return undefined;
  }
  if (lock.host !== hostname()) return lock;
  try {
    process.kill(lock.pid, 0);
    return lock;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? lock : undefined;
  }
}

/**
 * Reads a spool's records lazily from byte `from` on. Stops at the first record that is cut short or fails its
 * checksum (a crash mid-write), and then sets `tail.torn` to the bytes left unread.
 */
export function* spoolRecords(dir: string, from = 0, tail = { torn: 0 }): Generator<SpoolRecord> {
  const file = join(dir, RECORDS);
  if (!existsSync(file)) return;
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(HEADER);
    let offset = from;
    for (;;) {
      const got = readSync(fd, header, 0, HEADER, offset);
      if (got === 0) return;
      const length = header.readUInt32LE(0);
      const code = header.readUInt8(8);
      const kind = SPOOL_RECORD_KINDS[code];
      const whole = got === HEADER && kind !== undefined && offset + HEADER + length <= fstatSync(fd).size;
      // The checksum covers the kind byte and the payload, read together.
      const checked = Buffer.alloc(whole ? 1 + length : 0);
      if (whole) readSync(fd, checked, 0, 1 + length, offset + HEADER - 1);
      if (!whole || kind === undefined || crc32(checked) !== header.readUInt32LE(4)) {
        tail.torn = fstatSync(fd).size - offset;
        return;
      }
      const body = checked.subarray(1);
      yield { kind, body, offset, end: offset + HEADER + length };
      offset += HEADER + length;
    }
  } finally {
    closeSync(fd);
  }
}

/** Spools under `root`, oldest first. */
export function listSpools(root: string): { dir: string; meta: SpoolMeta }[] {
  if (!existsSync(root)) return [];
  const out: { dir: string; meta: SpoolMeta }[] = [];
  for (const name of readdirSync(root)) {
    if (name.startsWith('.')) continue;
    const dir = join(root, name);
    const meta = readSpoolMeta(dir);
    if (meta) out.push({ dir, meta });
  }
  return out.sort((a, b) => a.meta.createdAt - b.meta.createdAt);
}

/** Marks a spool uploaded in one atomic rename, then removes it. */
export function retireSpool(dir: string): void {
  const root = join(dir, '..');
  const retired = join(root, '.synced');
  mkdirSync(retired, { recursive: true, mode: 0o700 });
  const target = join(retired, `${dir.split('/').pop()}-${Date.now()}`);
  try {
    renameSync(dir, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another sync got there first
    throw error;
  }
  rmSync(target, { recursive: true, force: true });
}

/** Removes what an interrupted `retireSpool` left. */
export function sweepRetired(root: string): void {
  rmSync(join(root, '.synced'), { recursive: true, force: true });
}

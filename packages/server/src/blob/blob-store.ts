import { createHash, type Hash, randomBytes } from 'node:crypto';
import { finished, type Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { SimscopeError } from '@simscope/protocol';

/** Bytes that arrived and were hashed, waiting in a staging area until they are committed or discarded. */
export interface StagedBlob {
  /** The staging id (a random name, not the hash). */
  readonly id: string;
  readonly sha256: string;
  readonly size: number;
}

/** An inclusive byte range, as HTTP Range requests give it. */
export interface ByteRange {
  start: number;
  end: number;
}

/** One object found by `list()`: a committed blob (by its hash) or a staged one (by its id). */
export type BlobEntry =
  | { kind: 'blob'; sha256: string; modifiedMs: number }
  | { kind: 'staged'; id: string; modifiedMs: number };

export interface StageOptions {
  /** Fail with `quota_exceeded` once more than this many bytes arrive. */
  maxBytes?: number;
}

/**
 * Content-addressed storage of artifact bytes: a blob's key is the sha256 of its bytes, so identical bytes are
 * stored once. Uploads stream into a staging area (hashed on the way in) and are then committed under their
 * hash or discarded. Which blobs are in use is the database's business, not the store's.
 */
export interface BlobStore {
  readonly kind: 'local' | 's3';
  /** Streams `source` into the staging area, computing its sha256 and size; never holds it all in memory. */
  stage(source: NodeJS.ReadableStream, options?: StageOptions): Promise<StagedBlob>;
  /** Moves a staged blob to its content address, replacing whatever is there. */
  commit(staged: StagedBlob): Promise<void>;
  /** Removes a staged blob; no error when it is already gone. */
  discard(staged: StagedBlob | string): Promise<void>;
  has(sha256: string): Promise<boolean>;
  /** A stream of the blob's bytes, or of `range` of them. */
  read(sha256: string, range?: ByteRange): Promise<NodeJS.ReadableStream>;
  /** Removes a blob; no error when it is already gone. */
  delete(sha256: string): Promise<void>;
  /** Every committed and staged object, for the sweep. */
  list(): AsyncIterable<BlobEntry>;
  close(): Promise<void>;
}

/** A random staging id: 24 URL-safe characters. */
export function newStagingId(): string {
  return randomBytes(18).toString('base64url');
}

/** Passes bytes through unchanged while hashing and counting them; fails once more than `maxBytes` pass. */
export class HashingCounter extends Transform {
  readonly #hash: Hash = createHash('sha256');
  readonly #maxBytes: number;
  #size = 0;
  #digest: string | undefined;

  constructor(maxBytes = Number.POSITIVE_INFINITY) {
    super({ highWaterMark: 1 << 20 });
    this.#maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#size > this.#maxBytes) {
      callback(
        new SimscopeError(
          'quota_exceeded',
          `the upload is larger than this workspace's artifact quota of ${this.#maxBytes} bytes`,
          { details: { quota: this.#maxBytes } },
        ),
      );
      return;
    }
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  /** Bytes that passed so far (not `size`: upload libraries read that as the length of the whole body). */
  get byteCount(): number {
    return this.#size;
  }

  /** The hex sha256 of everything that passed; call after the stream ended. */
  get sha256(): string {
    this.#digest ??= this.#hash.digest('hex');
    return this.#digest;
  }
}

/**
 * Pipes `source` into `target`, destroying `target` when `source` fails or closes before its end. Unlike
 * `pipeline`, a failing `target` leaves `source` alone: when `source` is a request, the server can still answer.
 */
export function feed(source: NodeJS.ReadableStream, target: Writable): void {
  const stop = finished(source as Readable, (error) => {
    stop();
    if (error) target.destroy(error);
  });
  source.pipe(target);
}

/**
 * Passes on all but the last `length` bytes and keeps those as `trailer`: a checksum sent after the bytes it
 * covers, so that the sender can hash as it sends. Fails when fewer than `length` bytes arrive.
 */
export class TrailerSplitter extends Transform {
  readonly #length: number;
  #held: Buffer = Buffer.alloc(0);
  #trailer: Buffer | null = null;

  constructor(length: number) {
    super({ highWaterMark: 1 << 20 });
    this.#length = length;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    // Large chunks pass through uncopied: only the held tail (a few bytes) is copied.
    if (chunk.length >= this.#length) {
      if (this.#held.length > 0) this.push(this.#held);
      this.#held = Buffer.from(chunk.subarray(chunk.length - this.#length));
      callback(null, chunk.subarray(0, chunk.length - this.#length));
      return;
    }
    const joined = Buffer.concat([this.#held, chunk]);
    const cut = Math.max(0, joined.length - this.#length);
    this.#held = joined.subarray(cut);
    callback(null, cut > 0 ? joined.subarray(0, cut) : undefined);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#held.length < this.#length) {
      callback(
        new SimscopeError('invalid_body', `the body must end with its ${this.#length}-byte checksum trailer`),
      );
      return;
    }
    this.#trailer = this.#held;
    callback();
  }

  /** The trailing bytes, once the stream has ended. */
  get trailer(): Buffer | null {
    return this.#trailer;
  }
}

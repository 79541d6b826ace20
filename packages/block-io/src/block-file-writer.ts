import { constants, type FileHandle, open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { alignedBlocks, BLOCK_SIZE, directFlag } from './aligned.js';

/** Block writes under way at once: the disk takes one while the next fills. */
const IN_FLIGHT = 2;

export interface BlockFileWriterOptions {
  /** `'wx'` (the default) fails when the file exists; `'w'` replaces it. */
  flags?: 'w' | 'wx';
  /**
   * Write whole blocks with `O_DIRECT`, skipping the page cache, where the platform and file system allow it
   * (the default); the last partial block, and every block where they do not, goes through the page cache.
   */
  direct?: boolean;
}

/**
 * Writes a new file from the front, in 1 MiB blocks. A large file written once and read rarely (a blob, a
 * download) then costs no page-cache memory, and its speed is the disk's rather than that of finding memory for
 * the cache.
 *
 * @example
 * const writer = await BlockFileWriter.open('/data/blob.tmp');
 * for await (const chunk of body) await writer.write(chunk);
 * await writer.close();
 */
export class BlockFileWriter {
  readonly path: string;
  readonly #handle: FileHandle;
  /** The `O_DIRECT` handle: undefined until the first block, null where it cannot be had. */
  #direct: FileHandle | null | undefined;
  /** Free aligned blocks to copy into (direct writes only). */
  #free: Buffer[] = [];
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Where the next block write goes: every byte before it has been handed to a write. */
  #position = 0;
  #inFlight: Promise<void>[] = [];
  #closed = false;

  private constructor(path: string, handle: FileHandle, direct: boolean) {
    this.path = path;
    this.#handle = handle;
    if (!direct) this.#direct = null;
  }

  static async open(path: string, options: BlockFileWriterOptions = {}): Promise<BlockFileWriter> {
    const handle = await open(path, options.flags ?? 'wx');
    return new BlockFileWriter(path, handle, options.direct ?? true);
  }

  /** Bytes taken so far, written or not. */
  get bytes(): number {
    return this.#position + this.#pendingBytes;
  }

  /** Whether whole blocks skip the page cache (known once the first block is written). */
  get direct(): boolean {
    return Boolean(this.#direct);
  }

  /**
   * Appends `chunk`, which is kept (not copied) until it is written: do not change it afterwards. Resolves when
   * the writer can take more; rejects with the error of an earlier write that failed.
   */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error(`${this.path}: written after close`);
    if (chunk.length === 0) return;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    while (this.#pendingBytes >= BLOCK_SIZE) await this.#writeBlock();
  }

  /** Drops everything taken so far and empties the file, to write it again from the start. */
  async restart(): Promise<void> {
    await this.#settle();
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#position = 0;
    await this.#handle.truncate(0);
  }

  /** Writes what is left and closes the file; resolves to its size. */
  async close(): Promise<number> {
    try {
      if (this.#pendingBytes > 0) {
        const position = this.#position;
        const chunks = this.#take(this.#pendingBytes);
        this.#start(this.#writeBuffered(chunks, position));
      }
      await this.#settle();
      return this.#position;
    } finally {
      await this.#release();
    }
  }

  /** Stops without writing what is pending and closes the file (which the caller removes, if it wants). */
  async abort(): Promise<void> {
    await Promise.allSettled(this.#inFlight);
    this.#inFlight = [];
    await this.#release();
  }

  async #release(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#free = [];
    await Promise.allSettled([this.#handle.close(), this.#direct?.close()]);
  }

  async #writeBlock(): Promise<void> {
    if (this.#inFlight.length >= IN_FLIGHT) await this.#inFlight.shift();
    const position = this.#position;
    const direct = await this.#directHandle();
    if (!direct) {
      this.#start(this.#writeBuffered(this.#take(this.#pendingBytes), position));
      return;
    }
    const block = this.#free.pop();
    if (!block) throw new Error('block writer: no free block left (it was closed)');
    let filled = 0;
    for (const chunk of this.#take(BLOCK_SIZE)) {
      block.set(chunk, filled);
      filled += chunk.length;
    }
    this.#start(
      this.#writeDirect(direct, block, position).finally(() => {
        this.#free.push(block);
      }),
    );
  }

  async #writeDirect(direct: FileHandle, block: Buffer, position: number): Promise<void> {
    try {
      const { bytesWritten } = await direct.write(block, 0, BLOCK_SIZE, position);
      if (bytesWritten !== BLOCK_SIZE) throw shortWrite(this.path);
    } catch (error) {
      // A file system that opens with O_DIRECT yet refuses such writes: from here on, through the cache.
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      this.#direct = null;
      await direct.close().catch(() => undefined);
      await this.#writeBuffered([block], position);
    }
  }

  async #writeBuffered(chunks: Uint8Array[], position: number): Promise<void> {
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    const { bytesWritten } = await this.#handle.writev(chunks, position);
    if (bytesWritten !== bytes) throw shortWrite(this.path);
  }

  #start(write: Promise<void>): void {
    // Awaited later (by the next block, close or abort); until then a failure is not unhandled.
    write.catch(() => undefined);
    this.#inFlight.push(write);
  }

  async #settle(): Promise<void> {
    const writes = this.#inFlight;
    this.#inFlight = [];
    const results = await Promise.allSettled(writes);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Removes the first `bytes` pending bytes (a chunk split where needed) and advances the position. */
  #take(bytes: number): Uint8Array[] {
    const taken: Uint8Array[] = [];
    let left = bytes;
    while (left > 0) {
      const chunk = this.#pending[0];
      if (!chunk) throw new Error(`block writer: ${left} bytes taken beyond the pending ones`);
      if (chunk.length <= left) {
        taken.push(chunk);
        this.#pending.shift();
        left -= chunk.length;
      } else {
        taken.push(chunk.subarray(0, left));
        this.#pending[0] = chunk.subarray(left);
        left = 0;
      }
    }
    this.#pendingBytes -= bytes;
    this.#position += bytes;
    return taken;
  }

  async #directHandle(): Promise<FileHandle | null> {
    if (this.#direct !== undefined) return this.#direct;
    const flag = directFlag();
    this.#direct =
      flag === undefined ? null : await open(this.path, constants.O_WRONLY | flag).catch(() => null);
    if (this.#direct) this.#free = alignedBlocks(IN_FLIGHT);
    return this.#direct;
  }
}

/** A `Writable` over a {@link BlockFileWriter}: what `pipeline` needs. */
export async function createBlockWriteStream(
  path: string,
  options: BlockFileWriterOptions = {},
): Promise<Writable & { readonly writer: BlockFileWriter }> {
  const writer = await BlockFileWriter.open(path, options);
  const stream = new Writable({
    highWaterMark: BLOCK_SIZE,
    write(chunk: Buffer, _encoding, callback) {
      writer.write(chunk).then(() => callback(), callback);
    },
    final(callback) {
      writer.close().then(() => callback(), callback);
    },
    destroy(error, callback) {
      writer.abort().then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
  return Object.assign(stream, { writer });
}

/** Shaped as Node's own file errors: a message without the path, which comes as `path`. */
function shortWrite(path: string): Error {
  return Object.assign(new Error('ENOSPC: short write (is the disk full?)'), { code: 'ENOSPC', path });
}

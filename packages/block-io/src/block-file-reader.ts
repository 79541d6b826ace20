import { constants, type FileHandle, open } from 'node:fs/promises';
import { alignedBlocks, BLOCK_SIZE, directFlag } from './aligned.js';

/** `O_DIRECT` offsets must fall on the device's logical blocks; 4 KiB covers every common one. */
const SECTOR = 4096;

export interface BlockFileReadOptions {
  /** The first byte to read (default 0). */
  start?: number;
  /** The last byte to read, inclusive (default: the end of the file). */
  end?: number;
  /**
   * Read with `O_DIRECT`, skipping the page cache, where the platform and file system allow it and at least a
   * block is asked for (the default).
   */
  direct?: boolean;
}

/**
 * The bytes of a file (or of a range of it), in chunks of up to 1 MiB, the next read under way while a chunk is
 * used. Each chunk is the caller's to keep.
 *
 * @example
 * Readable.from(readBlocks(path, { start: 0, end: 99 }), { objectMode: false });
 */
export async function* readBlocks(path: string, options: BlockFileReadOptions = {}): AsyncGenerator<Buffer> {
  const flag = directFlag();
  const handle = await open(path, constants.O_RDONLY);
  try {
    const size = (await handle.stat()).size;
    const start = options.start ?? 0;
    const end = Math.min(options.end ?? size - 1, size - 1);
    if (end < start) return;
    let direct: FileHandle | undefined;
    if ((options.direct ?? true) && flag !== undefined && end + 1 - start >= BLOCK_SIZE) {
      direct = await open(path, constants.O_RDONLY | flag).catch(() => undefined);
    }
    if (direct) {
      try {
        yield* readDirect(direct, start, end);
        return;
      } catch (error) {
        // EINVAL before the first byte: the file system opened with O_DIRECT but does not read with it.
        if (!(error instanceof DirectRefused)) throw error;
      } finally {
        await direct.close();
      }
    }
    yield* readBuffered(handle, start, end);
  } finally {
    await handle.close();
  }
}

class DirectRefused extends Error {}

async function* readBuffered(handle: FileHandle, start: number, end: number): AsyncGenerator<Buffer> {
  const read = (at: number) => readRange(handle, Buffer.allocUnsafe(Math.min(BLOCK_SIZE, end + 1 - at)), at);
  let next = read(start);
  next.catch(() => undefined);
  for (let at = start; at <= end; ) {
    const chunk = await next;
    if (chunk.length === 0) return;
    at += chunk.length;
    if (at <= end) {
      // Awaited on the next turn, unless the caller stops first: then its failure is of no interest.
      next = read(at);
      next.catch(() => undefined);
    }
    yield chunk;
  }
}

async function* readDirect(handle: FileHandle, start: number, end: number): AsyncGenerator<Buffer> {
  const blocks = alignedBlocks(2);
  let at = start - (start % SECTOR);
  let next = readAligned(handle, blocks[0]!, at).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'EINVAL' ? new DirectRefused() : error;
  });
  next.catch(() => undefined);
  for (let i = 1; at <= end; i++) {
    const block = await next;
    const blockStart = at;
    at += block.length;
    if (at <= end && block.length === BLOCK_SIZE) {
      next = readAligned(handle, blocks[i % 2]!, at);
      next.catch(() => undefined);
    }
    // The aligned block is read into again while the caller holds this chunk: the caller gets a copy.
    const chunk = Buffer.from(
      block.subarray(Math.max(0, start - blockStart), Math.min(block.length, end + 1 - blockStart)),
    );
    if (chunk.length > 0) yield chunk;
    if (block.length < BLOCK_SIZE) return;
  }
}

/** Fills `buffer` from `position`; short only at the file's end. */
async function readRange(handle: FileHandle, buffer: Buffer, position: number): Promise<Buffer> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** Fills an aligned block from an aligned `position`; a read that ends off a sector boundary is the file's end. */
async function readAligned(handle: FileHandle, block: Buffer, position: number): Promise<Buffer> {
  let filled = 0;
  while (filled < block.length) {
    const { bytesRead } = await handle.read(block, filled, block.length - filled, position + filled);
    filled += bytesRead;
    if (bytesRead === 0 || filled % SECTOR !== 0) break;
  }
  return block.subarray(0, filled);
}

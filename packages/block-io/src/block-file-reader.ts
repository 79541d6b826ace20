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
  const chunks = readAhead(start, end, (at) =>
    fill(handle, Buffer.allocUnsafe(Math.min(BLOCK_SIZE, end + 1 - at)), at, false),
  );
  for await (const { bytes } of chunks) yield bytes;
}

async function* readDirect(handle: FileHandle, start: number, end: number): AsyncGenerator<Buffer> {
  const [even, odd] = alignedBlocks(2);
  if (!even || !odd) throw new Error('alignedBlocks(2) gave fewer than two blocks');
  let turn = 0;
  const chunks = readAhead(start - (start % SECTOR), end, (at) =>
    fill(handle, turn++ % 2 === 0 ? even : odd, at, true),
  );
  try {
    for await (const { bytes, position } of chunks) {
      // The aligned block is read into again while the caller holds this chunk: the caller gets a copy.
      const chunk = Buffer.from(
        bytes.subarray(Math.max(0, start - position), Math.min(bytes.length, end + 1 - position)),
      );
      if (chunk.length > 0) yield chunk;
    }
  } catch (error) {
    // EINVAL on the first read, before any byte: the file system opened with O_DIRECT but does not read with it.
    if (turn === 1 && (error as NodeJS.ErrnoException).code === 'EINVAL') throw new DirectRefused();
    throw error;
  }
}

/**
 * Reads from `position` to `end` (inclusive) with `read`, the next read under way while the caller uses the
 * last; stops at a short read (the file's end).
 */
async function* readAhead(
  position: number,
  end: number,
  read: (position: number) => Promise<Buffer>,
): AsyncGenerator<{ bytes: Buffer; position: number }> {
  let next = read(position);
  for (;;) {
    // Awaited on the next turn, unless the caller stops first: then its failure is of no interest.
    next.catch(() => undefined);
    const bytes = await next;
    if (bytes.length === 0) return;
    const at = position;
    position += bytes.length;
    const full = bytes.length === BLOCK_SIZE || position > end;
    if (position <= end && full) next = read(position);
    yield { bytes, position: at };
    if (position > end || !full) return;
  }
}

/**
 * Fills `buffer` from `position`; short only at the file's end. With `O_DIRECT` a read that ends off a sector
 * boundary is the file's end (reading on from there would be refused).
 */
async function fill(handle: FileHandle, buffer: Buffer, position: number, direct: boolean): Promise<Buffer> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    filled += bytesRead;
    if (bytesRead === 0 || (direct && filled % SECTOR !== 0)) break;
  }
  return buffer.subarray(0, filled);
}

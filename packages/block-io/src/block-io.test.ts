import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BLOCK_SIZE, BlockFileWriter, createBlockWriteStream, readBlocks } from './index.js';

const EXT4 = 0xef53;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(root = tmpdir()): string {
  const dir = mkdtempSync(join(root, 'simscope-block-io-'));
  dirs.push(dir);
  return dir;
}

/** `bytes` cut into chunks of uneven sizes, as a socket hands them over. */
function chunksOf(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = [1, 4095, 65536, 300_000, 7][i % 5]!;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

async function writeAll(path: string, bytes: Buffer, direct?: boolean): Promise<BlockFileWriter> {
  const writer = await BlockFileWriter.open(path, direct === undefined ? {} : { direct });
  for (const chunk of chunksOf(bytes)) await writer.write(chunk);
  expect(writer.bytes).toBe(bytes.length);
  expect(await writer.close()).toBe(bytes.length);
  return writer;
}

async function readAll(path: string, options: Parameters<typeof readBlocks>[1] = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of readBlocks(path, options)) {
    expect(chunk.length).toBeLessThanOrEqual(BLOCK_SIZE);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const SIZES = [0, 1, 4096, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 3 * BLOCK_SIZE + 12_345];

describe('BlockFileWriter', () => {
  it.each(SIZES)('writes %i bytes exactly, whatever the chunk sizes', async (size) => {
    const dir = tempDir();
    const bytes = randomBytes(size);
    await writeAll(join(dir, 'a'), bytes);
    expect(readFileSync(join(dir, 'a')).equals(bytes)).toBe(true);
    await writeAll(join(dir, 'b'), bytes, false);
    expect(readFileSync(join(dir, 'b')).equals(bytes)).toBe(true);
  });

  it('skips the page cache on a file system that allows it', async () => {
    const dir = tempDir();
    const bytes = randomBytes(2 * BLOCK_SIZE + 5);
    const writer = await writeAll(join(dir, 'big'), bytes);
    const type = statfsSync(dir).type;
    if (process.platform === 'linux' && type === EXT4) expect(writer.direct).toBe(true);
    expect((await writeAll(join(dir, 'plain'), bytes, false)).direct).toBe(false);

    if (process.platform === 'linux' && existsSync('/dev/shm')) {
      // tmpfs takes O_DIRECT from Linux 6.6 and refuses it before: the same bytes either way.
      const shm = tempDir('/dev/shm');
      await writeAll(join(shm, 'big'), bytes);
      expect(readFileSync(join(shm, 'big')).equals(bytes)).toBe(true);
    }
  });

  it("refuses an existing file by default, replaces it with 'w', and starts over on restart()", async () => {
    const dir = tempDir();
    const path = join(dir, 'f');
    writeFileSync(path, 'old');
    await expect(BlockFileWriter.open(path)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(path, 'utf8')).toBe('old');

    const writer = await BlockFileWriter.open(path, { flags: 'w' });
    await writer.write(randomBytes(BLOCK_SIZE + 10));
    await writer.restart();
    expect(writer.bytes).toBe(0);
    const again = randomBytes(BLOCK_SIZE + 3);
    await writer.write(again);
    expect(await writer.close()).toBe(again.length);
    expect(readFileSync(path).equals(again)).toBe(true);
    await expect(writer.write(again)).rejects.toThrow(/written after close/);
  });

  it('reports a failed write (a full disk) and closes on abort', async () => {
    if (!existsSync('/dev/full')) return;
    const writer = await BlockFileWriter.open('/dev/full', { flags: 'w' });
    const attempt = async () => {
      await writer.write(randomBytes(3 * BLOCK_SIZE));
      await writer.close();
    };
    await expect(attempt()).rejects.toMatchObject({ code: 'ENOSPC' });
    await writer.abort();
  });

  it('streams through pipeline as a Writable', async () => {
    const dir = tempDir();
    const bytes = randomBytes(2 * BLOCK_SIZE + 99);
    const { pipeline } = await import('node:stream/promises');
    const { Readable } = await import('node:stream');
    const stream = await createBlockWriteStream(join(dir, 's'));
    await pipeline(Readable.from(chunksOf(bytes)), stream);
    expect(stream.writer.bytes).toBe(bytes.length);
    expect(readFileSync(join(dir, 's')).equals(bytes)).toBe(true);
  });

  it('keeps pace whether the disk is ahead or behind', async () => {
    const dir = tempDir();
    const bytes = randomBytes(10 * BLOCK_SIZE + 5);
    const writer = await BlockFileWriter.open(join(dir, 'paced'));
    for (let at = 0, n = 0; at < bytes.length; at += BLOCK_SIZE, n++) {
      await writer.write(bytes.subarray(at, at + BLOCK_SIZE));
      // The disk finishes each of the first blocks before the next comes, then falls behind a burst.
      if (n < 5) await new Promise((r) => setTimeout(r, 30));
    }
    expect(await writer.close()).toBe(bytes.length);
    expect(readFileSync(join(dir, 'paced')).equals(bytes)).toBe(true);
  });
});

describe('readBlocks', () => {
  const size = 3 * BLOCK_SIZE + 12_345;
  const bytes = randomBytes(size);
  const dir = tempDir();
  const path = join(dir, 'r');
  writeFileSync(path, bytes);

  it.each([true, false])('reads the whole file and any range of it (direct: %s)', async (direct) => {
    expect((await readAll(path, { direct })).equals(bytes)).toBe(true);
    const ranges: [number, number][] = [
      [0, 0],
      [1, 4096],
      [4095, 4097],
      [BLOCK_SIZE - 1, BLOCK_SIZE],
      [12_345, 2 * BLOCK_SIZE + 777],
      [100, size - 1],
      [size - 1, size - 1],
    ];
    for (const [start, end] of ranges) {
      const got = await readAll(path, { start, end, direct });
      expect(got.equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
    // An end past the file stops at its end; a range past it is empty.
    expect((await readAll(path, { start: size - 10, end: size + 100, direct })).length).toBe(10);
    expect((await readAll(path, { start: size + 1, direct })).length).toBe(0);
  });

  it('reads an empty file as nothing, fails on a missing one, and lets a reader stop early', async () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    expect((await readAll(empty)).length).toBe(0);
    await expect(readAll(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    for await (const chunk of readBlocks(path)) {
      expect(chunk.equals(bytes.subarray(0, BLOCK_SIZE))).toBe(true);
      break;
    }
  });

  it('hands out chunks that stay intact while later ones are read', async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of readBlocks(path, { start: 7 })) chunks.push(chunk);
    expect(chunks.length).toBe(4);
    expect(Buffer.concat(chunks).equals(bytes.subarray(7))).toBe(true);
  });
});

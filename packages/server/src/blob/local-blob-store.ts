import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BLOCK_SIZE, createBlockWriteStream, readBlocks } from '@simscope/block-io';
import { isSha256, SimscopeError } from '@simscope/protocol';
import {
  type BlobEntry,
  type BlobStore,
  type ByteRange,
  feed,
  HashingCounter,
  newStagingId,
  type StagedBlob,
  type StageOptions,
} from './blob-store.js';

/**
 * Blobs as files under one directory: `sha256/ab/abcdef…` for committed blobs and `tmp/ID` for staged ones. Both
 * live on the same file system, so a commit is one atomic rename. Large blobs are written and read in whole blocks
 * that skip the page cache where the file system allows it: written once and read rarely, they would only crowd
 * out what the database needs cached.
 */
export class LocalBlobStore implements BlobStore {
  readonly kind = 'local' as const;
  readonly root: string;
  readonly #tmp: string;
  readonly #blobs: string;

  constructor(root: string) {
    this.root = root;
    this.#tmp = join(root, 'tmp');
    this.#blobs = join(root, 'sha256');
  }

  #path(sha256: string): string {
    if (!isSha256(sha256)) throw new SimscopeError('invalid_field', `'${sha256}' is not a sha256`);
    return join(this.#blobs, sha256.slice(0, 2), sha256);
  }

  #stagedPath(id: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new SimscopeError('invalid_field', `'${id}' is not a staging id`);
    return join(this.#tmp, id);
  }

  async stage(source: NodeJS.ReadableStream, options: StageOptions = {}): Promise<StagedBlob> {
    const id = newStagingId();
    const file = this.#stagedPath(id);
    const counter = new HashingCounter(options.maxBytes);
    try {
      const output = await withDirectory(this.#tmp, () => createBlockWriteStream(file));
      const done = pipeline(counter, output);
      feed(source, counter);
      await done;
      await chmod(file, 0o600);
    } catch (error) {
      await rm(file, { force: true });
      throw error;
    }
    return { id, sha256: counter.sha256, size: counter.byteCount };
  }

  async commit(staged: StagedBlob): Promise<void> {
    const target = this.#path(staged.sha256);
    const from = this.#stagedPath(staged.id);
    await withDirectory(join(this.#blobs, staged.sha256.slice(0, 2)), () => rename(from, target));
  }

  async discard(staged: StagedBlob | string): Promise<void> {
    await rm(this.#stagedPath(typeof staged === 'string' ? staged : staged.id), { force: true });
  }

  async has(sha256: string): Promise<boolean> {
    const path = this.#path(sha256);
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  }

  async read(sha256: string, range?: ByteRange): Promise<NodeJS.ReadableStream> {
    const blocks = readBlocks(this.#path(sha256), range ?? {});
    // The first block is read here, so that a missing blob fails before any response header is sent.
    const first = await blocks.next();
    return Readable.from(prepend(first, blocks), { objectMode: false, highWaterMark: BLOCK_SIZE });
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.#path(sha256), { force: true });
  }

  async *list(): AsyncIterable<BlobEntry> {
    for (const name of await readdirOrEmpty(this.#tmp)) {
      const info = await stat(join(this.#tmp, name)).catch(() => undefined);
      if (info) yield { kind: 'staged', id: name, modifiedMs: info.mtimeMs };
    }
    for (const prefix of await readdirOrEmpty(this.#blobs)) {
      for (const name of await readdirOrEmpty(join(this.#blobs, prefix))) {
        if (!isSha256(name)) continue;
        const info = await stat(join(this.#blobs, prefix, name)).catch(() => undefined);
        if (info) yield { kind: 'blob', sha256: name, modifiedMs: info.mtimeMs };
      }
    }
  }

  async close(): Promise<void> {}
}

async function* prepend(first: IteratorResult<Buffer>, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  try {
    if (first.done) return;
    yield first.value;
    yield* rest;
  } finally {
    // Closes the file, also when the reader stops before the end.
    await rest.return(undefined);
  }
}

/** Runs `fn`, creating `dir` first only if `fn` fails for want of it (a directory rarely needs making). */
async function withDirectory<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // Private to the server's user, like the database: blobs hold every workspace's artifacts.
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return fn();
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { BlockFileWriter } from '@simscope/block-io';
import { type ArtifactCategory, type ArtifactView, artifactNameProblem, type Json } from '@simscope/protocol';
import { artifactNameFor, checkArtifactName, detectMimeType, failArtifact } from './artifact-names.js';
import { ClientError } from './errors.js';
import type { HttpTransport, StreamResponse } from './http-transport.js';

/** An artifact as the server lists it; `created` is microseconds since the epoch. */
export type ArtifactInfo = ArtifactView;

/** How `run.save` names and describes a file. */
export interface SaveOptions {
  /** MIME type; detected from the file name and its first bytes when not given. */
  mimeType?: string;
  /** Name the artifact by its path as given (normalised: see docs/artifacts.md) instead of its base name. */
  preservePath?: boolean;
  /** The artifact's name, checked as given (never normalised); overrides `preservePath`. */
  name?: string;
  metadata?: Record<string, Json>;
}

/** Options of `run.saveDirectory` and `run.saveAll`. */
export interface SaveManyOptions {
  /** One MIME type for every file; detected per file when not given. */
  mimeType?: string;
  preservePath?: boolean;
  metadata?: Record<string, Json>;
  /** Files uploaded at once (default 4). */
  concurrency?: number;
}

/** Which artifacts of a run to list or download; the text filters apply to names and combine. */
export interface ArtifactFilter {
  category?: ArtifactCategory;
  startsWith?: string;
  contains?: string;
  endsWith?: string;
}

const CHUNK = 1 << 20;
/** The length of a sha256 in hex: the trailer that ends a body hashed as it is sent. */
const SHA256_HEX = 64;
/** Files up to this size are read once, for the hash, and sent from memory. */
const SMALL_FILE = 1 << 20;

/**
 * Aborts after `ms` without a call to `touch()`: a time limit on silence, not on the whole transfer. The abort's
 * reason is the error the transfer of `what` ends with.
 */
class IdleTimer {
  readonly #controller = new AbortController();
  readonly #ms: number;
  readonly #what: string;
  #timer: NodeJS.Timeout;

  constructor(ms: number, what: string) {
    this.#ms = ms;
    this.#what = what;
    this.#timer = this.#arm();
  }

  #arm(): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const message = `${this.#what}: no progress for ${this.#ms} ms; the server or the network stalled`;
      this.#controller.abort(new ClientError('unavailable', message, 0));
    }, this.#ms);
    timer.unref();
    return timer;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  touch(): void {
    clearTimeout(this.#timer);
    this.#timer = this.#arm();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

interface OpenedFile {
  size: number;
  /** The first 512 bytes, to tell the MIME type. */
  head: Uint8Array;
  /** A small file whole, and its sha256; null for a large one, hashed as it is sent. */
  bytes: Uint8Array | null;
  sha256: string | null;
}

/** Size and first bytes of a file; a small file is read whole and hashed. */
async function openFile(path: string): Promise<OpenedFile> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile()) failArtifact(`${path}: not a file`, 'bad_request');
    const size = info.size;
    const buffer = Buffer.allocUnsafe(size <= SMALL_FILE ? size : 512);
    let total = 0;
    while (total < buffer.length) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    if (total !== buffer.length)
      failArtifact(`${path}: the file changed size while it was read`, 'bad_request');
    const head = Uint8Array.from(buffer.subarray(0, 512));
    if (size > SMALL_FILE) return { size, head, bytes: null, sha256: null };
    return { size, head, bytes: buffer, sha256: createHash('sha256').update(buffer).digest('hex') };
  } finally {
    await handle.close();
  }
}

/**
 * A file in 1 MiB chunks, read as the network takes them; it hashes what it reads and ends with the 64 hex digits
 * of the sha256 (the `sha256=trailer` form of an upload). Two buffers take turns: the transport is done with a
 * chunk once it asks for the one after next, and a fresh megabyte per chunk would cost the garbage collector
 * about as much as the hash.
 */
async function* fileChunks(path: string, size: number, timer: IdleTimer): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const even = Buffer.allocUnsafe(CHUNK);
    const odd = Buffer.allocUnsafe(CHUNK);
    let sent = 0;
    for (let i = 0; ; i++) {
      const buffer = i % 2 === 0 ? even : odd;
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      timer.touch();
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      sent += bytesRead;
      yield chunk;
    }
    // A file that grew or shrank since it was opened would not match its announced size.
    if (sent !== size) failArtifact(`${path}: the file changed size while it was sent`, 'bad_request');
    yield Buffer.from(hash.digest('hex'), 'latin1');
  } finally {
    await handle.close();
  }
}

interface UploadSpec {
  name: string;
  category: ArtifactCategory;
  mimeType: string;
  /** The hex sha256, or 'trailer' when the body ends with it. */
  sha256: string;
  size: number;
  metadata: Record<string, Json> | undefined;
}

async function upload(
  transport: HttpTransport,
  runId: string,
  spec: UploadSpec,
  body: (timer: IdleTimer) => AsyncIterable<Uint8Array> | Uint8Array,
): Promise<ArtifactInfo> {
  const timer = new IdleTimer(transport.timeoutMs, spec.name);
  try {
    const res = await transport.streamCall('saveArtifact', {
      params: { run: runId },
      query: {
        name: spec.name,
        category: spec.category,
        sha256: spec.sha256,
        size: spec.size,
        metadata:
          spec.metadata && Object.keys(spec.metadata).length > 0 ? JSON.stringify(spec.metadata) : undefined,
      },
      headers: { 'content-type': spec.mimeType },
      length: spec.size + (spec.sha256 === 'trailer' ? SHA256_HEX : 0),
      // The same name and bytes again replace the artifact with itself: safe to send twice.
      idempotent: true,
      body: () => body(timer),
      signal: timer.signal,
    });
    return await res.json<ArtifactInfo>();
  } finally {
    timer.stop();
  }
}

/** Uploads one file as the artifact `options.name` (or the name its path gives). */
export async function uploadFile(
  transport: HttpTransport,
  runId: string,
  path: string,
  category: ArtifactCategory,
  options: SaveOptions = {},
): Promise<ArtifactInfo> {
  const name =
    options.name !== undefined
      ? checkArtifactName(options.name)
      : artifactNameFor(path, options.preservePath);
  const file = await openFile(path);
  const spec: UploadSpec = {
    name,
    category,
    mimeType: options.mimeType ?? detectMimeType(path, file.head),
    // A large file is hashed as it is sent, not read twice: its checksum follows its bytes.
    sha256: file.sha256 ?? 'trailer',
    size: file.size,
    metadata: options.metadata,
  };
  return upload(transport, runId, spec, (timer) => file.bytes ?? fileChunks(path, file.size, timer));
}

/** Uploads bytes held in memory. */
export function uploadBytes(
  transport: HttpTransport,
  runId: string,
  bytes: Uint8Array,
  spec: Omit<UploadSpec, 'sha256' | 'size'>,
): Promise<ArtifactInfo> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return upload(transport, runId, { ...spec, sha256, size: bytes.length }, () => bytes);
}

/** The files under `dir`, depth first in name order; symbolic links to files count, links to directories do not. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (entry.isFile()) out.push(full);
    else if (entry.isSymbolicLink() && (await stat(full).catch(() => undefined))?.isFile()) out.push(full);
  }
  return out;
}

/**
 * The files `paths` name (directories expanded) with their artifact names. Refuses, before anything is sent,
 * two files that would get the same name.
 */
export async function planUploads(
  paths: readonly string[],
  preservePath: boolean,
): Promise<{ path: string; name: string }[]> {
  const plan: { path: string; name: string }[] = [];
  for (const path of paths) {
    const info = await stat(path);
    if (info.isDirectory()) {
      // Paths inside start with the directory as given, so preservePath names them `dir/sub/file`.
      for (const file of await listFiles(path))
        plan.push({ path: file, name: artifactNameFor(file, preservePath) });
    } else if (info.isFile()) {
      plan.push({ path, name: artifactNameFor(path, preservePath) });
    } else {
      failArtifact(`${path}: not a file or directory`, 'bad_request');
    }
  }
  const seen = new Map<string, string>();
  const unique: { path: string; name: string }[] = [];
  for (const { path, name } of plan) {
    const other = seen.get(name);
    if (other === undefined) {
      seen.set(name, path);
      unique.push({ path, name });
    } else if (resolve(other) !== resolve(path)) {
      failArtifact(
        `'${other}' and '${path}' would both be saved as '${name}'${preservePath ? '' : '; use preservePath to keep their paths'}`,
      );
    }
  }
  return unique;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the items' order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  // One iterator shared by the workers: each takes the next item.
  const queue = items.entries();
  const worker = async () => {
    for (const [i, item] of queue) results[i] = await fn(item);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** The file an artifact goes to under `dir`, or an error when its name could reach outside `dir`. */
export function downloadTarget(dir: string, name: string): string {
  const problem = artifactNameProblem(name);
  if (problem)
    failArtifact(`refusing to write artifact ${JSON.stringify(name)}: its name ${problem}`, 'bad_request');
  if (sep === '\\' && /[<>:"|?*]/.test(name)) {
    failArtifact(
      `refusing to write artifact ${JSON.stringify(name)}: not a valid Windows file name`,
      'bad_request',
    );
  }
  const root = resolve(dir);
  const target = resolve(root, ...name.split('/'));
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    failArtifact(`refusing to write artifact ${JSON.stringify(name)} outside ${root}`, 'bad_request');
  }
  return target;
}

/** Creates the directories up to `target` and checks that, links resolved, they are still inside `dir`. */
async function prepareDirectory(dir: string, target: string): Promise<void> {
  const root = await realpath(resolve(dir));
  await mkdir(dirname(target), { recursive: true });
  const parent = await realpath(dirname(target));
  const rel = relative(root, parent);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    failArtifact(`refusing to write ${target}: a link in its path leads outside ${root}`, 'bad_request');
  }
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isDirectory())
    failArtifact(`refusing to write ${target}: a directory is in the way`, 'bad_request');
}

/** How often a download that breaks off mid-way resumes where it stopped (with a Range request). */
const RESUMES = 5;

/**
 * Downloads the artifact `name` of `run` to `dir/name` (subdirectories made as its name needs): into a temporary
 * file beside the target, checked against the sha256 the server gives (its ETag), then renamed into place. A
 * transfer that breaks off resumes from the last byte received, as long as the artifact has not changed.
 */
export async function downloadArtifact(
  transport: HttpTransport,
  run: string,
  name: string,
  dir: string,
): Promise<string> {
  const target = downloadTarget(dir, name);
  await mkdir(resolve(dir), { recursive: true });
  await prepareDirectory(dir, target);
  const temp = join(
    dirname(target),
    `.${basename(target).slice(0, 200)}.${randomBytes(6).toString('hex')}.part`,
  );
  const timer = new IdleTimer(transport.timeoutMs, name);
  const writer = await BlockFileWriter.open(temp);
  let hash = createHash('sha256');
  let etag: string | null = null;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        // Every byte received is kept by the writer, so a resume asks for what comes after all of them.
        const resume = writer.bytes > 0 && etag !== null;
        const res: StreamResponse = await transport.streamCall('readArtifact', {
          params: { run },
          query: { name },
          signal: timer.signal,
          ...(resume && etag !== null
            ? { headers: { range: `bytes=${writer.bytes}-`, 'if-range': etag } }
            : {}),
        });
        if (resume && res.status !== 206) {
          // The artifact changed since the first bytes came: start again from the whole answer.
          await writer.restart();
          hash = createHash('sha256');
        }
        etag ??= res.headers.get('etag');
        for await (const value of res.body as AsyncIterable<Buffer>) {
          timer.touch();
          hash.update(value);
          // A failed write (a full disk) is not the network's doing: no resume would help.
          await writer.write(value).catch(writeFailed(temp));
        }
        break;
      } catch (error) {
        if (error instanceof ClientError || timer.signal.aborted || attempt >= RESUMES || etag === null) {
          throw error;
        }
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
    await writer.close().catch(writeFailed(temp));
    const expected = /^"([0-9a-f]{64})"$/.exec(etag ?? '')?.[1];
    const actual = hash.digest('hex');
    if (expected !== undefined && actual !== expected) {
      throw new ClientError(
        'checksum_mismatch',
        `${name}: the bytes received hash to ${actual}, not ${expected}`,
        0,
      );
    }
    await rename(temp, target);
    return target;
  } catch (error) {
    await writer.abort();
    await rm(temp, { force: true });
    throw error;
  } finally {
    timer.stop();
  }
}

/** Turns a failed write of `path` into the error a download ends with. */
function writeFailed(path: string): (error: Error) => never {
  return (error) => {
    throw new ClientError('bad_request', `${path}: ${error.message}`, 0, { cause: error });
  };
}

/** Reads a whole artifact into memory (for `getArtifactAsObject`). */
export async function downloadBytes(
  transport: HttpTransport,
  run: string,
  name: string,
): Promise<{ bytes: Uint8Array; mimeType: string }> {
  const res = await transport.streamCall('readArtifact', {
    params: { run },
    query: { name: checkArtifactName(name) },
  });
  return {
    bytes: await res.bytes(),
    mimeType: res.headers.get('content-type') ?? 'application/octet-stream',
  };
}

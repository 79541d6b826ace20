import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { BlockFileWriter } from '@simscope/block-io';
import {
  ARTIFACT_CATEGORIES,
  type ArtifactCategory,
  type ArtifactView,
  artifactNameProblem,
  type Json,
} from '@simscope/protocol';
import { ClientError } from './errors.js';
import type { HttpTransport } from './http-transport.js';

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

function fail(message: string, code: 'invalid_field' | 'bad_request' = 'invalid_field'): never {
  throw new ClientError(code, message, 0);
}

/** Checks a category before anything is read or sent. */
export function checkCategory(category: string): ArtifactCategory {
  if (!(ARTIFACT_CATEGORIES as readonly string[]).includes(category)) {
    fail(`category: must be one of ${ARTIFACT_CATEGORIES.join(', ')}, got '${category}'`);
  }
  return category as ArtifactCategory;
}

/** Checks a name given in code: it is used as written or refused, never changed. */
export function checkArtifactName(name: string): string {
  const problem = artifactNameProblem(name);
  if (problem) fail(`artifact name '${name}': ${problem}`);
  return name;
}

/**
 * The artifact name for a file path: its base name, or with `preservePath` the path as given, normalised so that
 * it cannot point outside a download directory: `\` becomes `/` on Windows, a drive letter and leading `/` are
 * dropped, `.` and empty segments vanish and `..` segments are resolved, those that would climb above the path's
 * start dropped (`../data/a.txt` is `data/a.txt`). A name that still breaks the rules (a control character, a
 * segment over 255 characters) is refused.
 */
export function artifactNameFor(path: string, preservePath = false): string {
  let p = sep === '\\' ? path.replaceAll('\\', '/') : path;
  p = p.replace(/^[A-Za-z]:(?=\/|$)/, '');
  let name: string;
  if (!preservePath) {
    name = posix.basename(p);
  } else {
    name = posix.normalize(`/${p}`).replace(/^\/+/, '').replace(/\/+$/, '');
  }
  const problem = artifactNameProblem(name);
  if (problem) fail(`artifact name for '${path}': ${problem}`);
  return name;
}

// Types by extension: the formats simulation work produces and reads, and the common ones besides.
const MIME_TYPES: Record<string, string> = {
  txt: 'text/plain',
  log: 'text/plain',
  out: 'text/plain',
  dat: 'text/plain',
  in: 'text/plain',
  cfg: 'text/plain',
  conf: 'text/plain',
  ini: 'text/plain',
  md: 'text/markdown',
  rst: 'text/x-rst',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  json: 'application/json',
  jsonl: 'application/jsonl',
  ndjson: 'application/x-ndjson',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  toml: 'application/toml',
  xml: 'application/xml',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  mjs: 'text/javascript',
  ts: 'text/x-typescript',
  py: 'text/x-python',
  ipynb: 'application/x-ipynb+json',
  c: 'text/x-c',
  h: 'text/x-c',
  cpp: 'text/x-c++',
  cc: 'text/x-c++',
  cxx: 'text/x-c++',
  hpp: 'text/x-c++',
  f: 'text/x-fortran',
  f90: 'text/x-fortran',
  f95: 'text/x-fortran',
  f03: 'text/x-fortran',
  for: 'text/x-fortran',
  jl: 'text/x-julia',
  r: 'text/x-r',
  m: 'text/x-matlab',
  rs: 'text/x-rust',
  go: 'text/x-go',
  java: 'text/x-java',
  sh: 'application/x-sh',
  tex: 'application/x-tex',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  bmp: 'image/bmp',
  pdf: 'application/pdf',
  eps: 'application/postscript',
  ps: 'application/postscript',
  mp4: 'video/mp4',
  webm: 'video/webm',
  gz: 'application/gzip',
  tgz: 'application/gzip',
  bz2: 'application/x-bzip2',
  xz: 'application/x-xz',
  zst: 'application/zstd',
  zip: 'application/zip',
  tar: 'application/x-tar',
  h5: 'application/x-hdf5',
  hdf5: 'application/x-hdf5',
  nc: 'application/x-netcdf',
  npy: 'application/x-npy',
  npz: 'application/x-npz',
  parquet: 'application/vnd.apache.parquet',
  arrow: 'application/vnd.apache.arrow.file',
  feather: 'application/vnd.apache.arrow.file',
  vtk: 'application/x-vtk',
  vtu: 'application/x-vtk',
  stl: 'model/stl',
  obj: 'model/obj',
  msgpack: 'application/msgpack',
  bin: 'application/octet-stream',
};

const MAGIC: [number[], string][] = [
  [[0x89, 0x50, 0x4e, 0x47], 'image/png'],
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  [[0x47, 0x49, 0x46, 0x38], 'image/gif'],
  [[0x25, 0x50, 0x44, 0x46], 'application/pdf'],
  [[0x50, 0x4b, 0x03, 0x04], 'application/zip'],
  [[0x1f, 0x8b], 'application/gzip'],
  [[0x89, 0x48, 0x44, 0x46], 'application/x-hdf5'],
  [[0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59], 'application/x-npy'],
  [[0x43, 0x44, 0x46, 0x01], 'application/x-netcdf'],
  [[0x43, 0x44, 0x46, 0x02], 'application/x-netcdf'],
];

/**
 * The MIME type of a file from its extension, else from its first bytes (image, PDF, archive, HDF5, npy and netCDF
 * signatures; UTF-8 text without NUL bytes is `text/plain`), else `application/octet-stream`.
 */
export function detectMimeType(path: string, head: Uint8Array): string {
  const byExtension = MIME_TYPES[extname(path).slice(1).toLowerCase()];
  if (byExtension) return byExtension;
  for (const [signature, type] of MAGIC) {
    if (signature.every((b, i) => head[i] === b)) return type;
  }
  if (head.length > 0 && !head.includes(0)) {
    try {
      // A multi-byte character cut at the end of the sample is not a reason to call the file binary.
      new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, Math.max(1, head.length - 3)));
      return 'text/plain';
    } catch {
      // not UTF-8
    }
  }
  return 'application/octet-stream';
}

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
    if (!info.isFile()) fail(`${path}: not a file`, 'bad_request');
    const size = info.size;
    const buffer = Buffer.allocUnsafe(size <= SMALL_FILE ? size : 512);
    let total = 0;
    while (total < buffer.length) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    if (total !== buffer.length) fail(`${path}: the file changed size while it was read`, 'bad_request');
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
    const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let sent = 0;
    for (let i = 0; ; i++) {
      const buffer = buffers[i % buffers.length]!;
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      timer.touch();
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      sent += bytesRead;
      yield chunk;
    }
    // A file that grew or shrank since it was opened would not match its announced size.
    if (sent !== size) fail(`${path}: the file changed size while it was sent`, 'bad_request');
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
    const res = await transport.stream('PUT', `/runs/${encodeURIComponent(runId)}/artifacts`, {
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
export async function listFiles(dir: string): Promise<string[]> {
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
      fail(`${path}: not a file or directory`, 'bad_request');
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
      fail(
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
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** The file an artifact goes to under `dir`, or an error when its name could reach outside `dir`. */
export function downloadTarget(dir: string, name: string): string {
  const problem = artifactNameProblem(name);
  if (problem) fail(`refusing to write artifact ${JSON.stringify(name)}: its name ${problem}`, 'bad_request');
  if (sep === '\\' && /[<>:"|?*]/.test(name)) {
    fail(`refusing to write artifact ${JSON.stringify(name)}: not a valid Windows file name`, 'bad_request');
  }
  const root = resolve(dir);
  const target = resolve(root, ...name.split('/'));
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    fail(`refusing to write artifact ${JSON.stringify(name)} outside ${root}`, 'bad_request');
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
    fail(`refusing to write ${target}: a link in its path leads outside ${root}`, 'bad_request');
  }
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isDirectory()) fail(`refusing to write ${target}: a directory is in the way`, 'bad_request');
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
        const res = await transport.stream('GET', `/runs/${encodeURIComponent(run)}/artifacts/content`, {
          query: { name },
          signal: timer.signal,
          ...(resume ? { headers: { range: `bytes=${writer.bytes}-`, 'if-range': etag! } } : {}),
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
  const res = await transport.stream('GET', `/runs/${encodeURIComponent(run)}/artifacts/content`, {
    query: { name: checkArtifactName(name) },
  });
  return {
    bytes: await res.bytes(),
    mimeType: res.headers.get('content-type') ?? 'application/octet-stream',
  };
}

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

const NPY_TYPES: [string, new (buffer: ArrayBuffer) => TypedArray][] = [
  ['<f8', Float64Array],
  ['<f4', Float32Array],
  ['|i1', Int8Array],
  ['|u1', Uint8Array],
  ['<i2', Int16Array],
  ['<u2', Uint16Array],
  ['<i4', Int32Array],
  ['<u4', Uint32Array],
  ['<i8', BigInt64Array],
  ['<u8', BigUint64Array],
];

function npyDescr(array: TypedArray): string {
  if (array instanceof Uint8ClampedArray) return '|u1';
  const found = NPY_TYPES.find(([, type]) => array instanceof type);
  if (!found) fail('saveObject: unsupported typed array');
  return found[0];
}

/** A typed array as a NumPy `.npy` file (format 1.0, one dimension, little-endian), readable by `numpy.load`. */
export function encodeNpy(array: TypedArray): Uint8Array {
  const descr = npyDescr(array);
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${array.length},), }`;
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length + array.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), 10 + header.length);
  return out;
}

/** Reads a one-dimensional little-endian `.npy` file (as `encodeNpy` writes) into a typed array. */
export function decodeNpy(bytes: Uint8Array): TypedArray {
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') fail('not an .npy file');
  const major = bytes[6]!;
  const lengthBytes = major === 1 ? 2 : 4;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = lengthBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const type = NPY_TYPES.find(([d]) => d === descr || (d === '<f8' && descr === '<d'))?.[1];
  if (!type || /'fortran_order':\s*True/.test(header)) fail(`.npy: unsupported array (${descr})`);
  const data = bytes.slice(start + headerLength);
  return new type(data.buffer);
}

/** Bytes, MIME type and metadata for `run.saveObject`. */
export function encodeObject(value: unknown): {
  bytes: Uint8Array;
  mimeType: string;
  metadata: Record<string, Json>;
} {
  if (value instanceof ArrayBuffer)
    return { bytes: new Uint8Array(value), mimeType: 'application/octet-stream', metadata: {} };
  if (Buffer.isBuffer(value)) return { bytes: value, mimeType: 'application/octet-stream', metadata: {} };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const array = value as TypedArray;
    return {
      bytes: encodeNpy(array),
      mimeType: 'application/x-npy',
      metadata: { dtype: npyDescr(array), shape: [array.length] },
    };
  }
  const text = JSON.stringify(value);
  if (text === undefined) fail('saveObject: the value is not JSON (undefined, a function or a symbol)');
  return { bytes: new TextEncoder().encode(text), mimeType: 'application/json', metadata: {} };
}

/** The value `encodeObject` made, from an artifact's bytes and MIME type. */
export function decodeObject(bytes: Uint8Array, mimeType: string): unknown {
  const type = mimeType.split(';')[0]!.trim();
  if (type === 'application/json') return JSON.parse(new TextDecoder().decode(bytes));
  if (type === 'application/x-npy') return decodeNpy(bytes);
  return bytes;
}

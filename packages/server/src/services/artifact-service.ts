import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ARTIFACT_CATEGORIES,
  type ArtifactCategory,
  type ArtifactView,
  isSha256,
  type JsonObject,
  SimscopeError,
} from '@simscope/protocol';
import {
  type BlobStore,
  type ByteRange,
  feed,
  HashingCounter,
  type StagedBlob,
  TrailerSplitter,
} from '../blob/blob-store.js';
import type { ArtifactRecord } from '../store/artifact-store.js';
import type { RunRecord, Store } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, pageOf } from './cursor.js';
import { NotFoundError } from './errors.js';

export interface ArtifactServiceConfig {
  /** Where artifact bytes go; without one, artifact routes answer `unavailable`. */
  blobs: BlobStore | undefined;
  /** Bytes each workspace may hold (distinct blobs its artifacts reference); null or absent for no limit. */
  quota?: number | null;
}

/** The query of an upload, as it arrived (strings), and the request's Content-Type. */
/** `PUT /runs/:run/artifacts`: its query as the route's schema gives it, and the body's MIME type. */
export interface SaveParams {
  name: string;
  category: ArtifactCategory | null;
  sha256: string | null;
  size: number | null;
  metadata: JsonObject;
  mimeType: string;
}

/** `GET /runs/:run/artifacts`, as the route's query schema gives it. */
export interface ListParams {
  category: ArtifactCategory | null;
  name: string | null;
  startsWith: string | null;
  contains: string | null;
  endsWith: string | null;
  limit: number;
  next?: string;
}

/** What a download sends: the artifact, and its bytes or a range of them (no stream for HEAD). */
export interface OpenedArtifact {
  artifact: ArtifactView;
  range: ByteRange | null;
  stream: NodeJS.ReadableStream | null;
}

export interface SweepResult {
  /** Staged uploads older than the grace period, left by interrupted uploads or a crash. */
  staged: number;
  /** Blobs in the store that no database row knows (a crash between storing and recording). */
  orphans: number;
  /** Blobs no artifact references any more. */
  freed: number;
}

function artifactView(a: ArtifactRecord): ArtifactView {
  return {
    name: a.name,
    category: a.category,
    mimeType: a.mimeType,
    size: a.size,
    sha256: a.sha256,
    metadata: a.metadata,
    created: a.createdAt,
  };
}

/** The bytes a `Range` header asks for, as read at the route: from `start` (to `end`), or the last `suffix`. */
export type RangeRequest =
  | { header: string; start: number; end: number | null }
  | { header: string; suffix: number };

/**
 * The bytes `request` asks of `size`: null for the whole (no request, or an end before its start, which HTTP says
 * to ignore), a range, or `range_not_satisfiable`.
 */
function resolveRange(request: RangeRequest | null, size: number): ByteRange | null {
  if (!request) return null;
  const unsatisfiable = () =>
    new SimscopeError(
      'range_not_satisfiable',
      `header.range: '${request.header}' lies outside the ${size} bytes`,
      { details: { size } },
    );
  if ('suffix' in request) {
    if (request.suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - request.suffix), end: size - 1 };
  }
  const { start, end } = request;
  if (end !== null && end < start) return null;
  if (start >= size) throw unsatisfiable();
  return { start, end: end === null ? size - 1 : Math.min(end, size - 1) };
}

async function hashOnly(source: NodeJS.ReadableStream, maxBytes: number | undefined) {
  const counter = new HashingCounter(maxBytes);
  const done = pipeline(
    counter,
    new Writable({
      highWaterMark: 1 << 20,
      write(_chunk, _encoding, callback) {
        callback();
      },
    }),
  );
  feed(source, counter);
  await done;
  return { sha256: counter.sha256, size: counter.byteCount };
}

function storageError(error: unknown): unknown {
  if ((error as NodeJS.ErrnoException)?.code === 'ENOSPC') {
    return new SimscopeError('storage_full', 'the blob store is out of space; free some space, then retry', {
      cause: error,
    });
  }
  return error;
}

/**
 * Saves, lists, serves and deletes a run's artifacts. Bytes stream into the blob store under their sha256, so a
 * second copy of the same bytes costs nothing; blobs that no artifact references any more are freed.
 */
export class ArtifactService {
  readonly #blobs: BlobStore | undefined;
  readonly #quota: number | null;

  constructor(config: ArtifactServiceConfig) {
    this.#blobs = config.blobs;
    this.#quota = config.quota ?? null;
  }

  get quota(): number | null {
    return this.#quota;
  }

  #store(): BlobStore {
    if (!this.#blobs) throw new SimscopeError('unavailable', 'this server has no blob store for artifacts');
    return this.#blobs;
  }

  /**
   * Streams `body` into the blob store and saves it as the artifact `name` of `run`, replacing an artifact of that
   * name. The bytes must match `sha256` and `size` when given; the whole upload is refused when it would take the
   * workspace over its quota.
   */
  async save(
    ctx: ServiceContext,
    run: RunRecord,
    params: SaveParams,
    body: NodeJS.ReadableStream | undefined,
  ): Promise<{ artifact: ArtifactView; created: boolean }> {
    const blobs = this.#store();
    const { name, category, size: declared, metadata, mimeType } = params;
    if (category === null) {
      throw new SimscopeError(
        'invalid_field',
        `query.category: required, one of ${ARTIFACT_CATEGORIES.join(', ')}`,
      );
    }
    // `sha256=trailer`: the checksum is the body's last 64 bytes, so a client can hash as it sends.
    const trailer = params.sha256 === 'trailer';
    let claimed = trailer ? null : params.sha256;
    const workspaceId = ctx.auth.workspace.id;

    // No upload can be larger than the quota; whether one fits exactly is decided when it is recorded. One that
    // announces its size is refused at once when it cannot fit, unless its sha256 says the workspace holds it.
    const maxBytes = this.#quota ?? undefined;
    if (
      this.#quota !== null &&
      declared !== null &&
      !(claimed !== null && (await ctx.store.artifacts.hasBlob(claimed, workspaceId)))
    ) {
      const used = await ctx.store.artifacts.artifactBytes(workspaceId);
      const previous = await ctx.store.artifacts.getArtifact(run.pk, name);
      if (declared > this.#quota - used + (previous ? previous.size : 0)) {
        throw new SimscopeError(
          'quota_exceeded',
          `saving '${name}' (${declared} bytes) would exceed this workspace's artifact quota of ${this.#quota} bytes (${used} used)`,
          { details: { field: 'size', quota: this.#quota, used, size: declared } },
        );
      }
    }

    let source = body ?? Readable.from([]);
    const splitter = trailer ? new TrailerSplitter(64) : null;
    if (splitter) {
      // Its failure reaches the blob store through the stream; this listener only stops it from being thrown
      // if it comes before the store has hooked on.
      splitter.on('error', () => undefined);
      feed(source, splitter);
      source = splitter;
    }
    let staged: StagedBlob | null = null;
    let got: { sha256: string; size: number };
    try {
      // Bytes we already hold are only hashed, to check them, and never written again.
      if (claimed !== null && (await ctx.store.artifacts.hasBlob(claimed)))
        got = await hashOnly(source, maxBytes);
      else got = staged = await blobs.stage(source, { maxBytes });
    } catch (error) {
      // Unhooks the request from the splitter, so the route can still read it on.
      splitter?.destroy();
      throw storageError(error);
    }
    let placed = false;
    try {
      if (splitter) {
        const text = splitter.trailer?.toString('latin1') ?? '';
        if (!isSha256(text)) {
          throw new SimscopeError(
            'invalid_body',
            'body: with sha256=trailer, the body must end with the 64 lowercase hex digits of its sha256',
          );
        }
        claimed = text;
      }
      if (claimed !== null && claimed !== got.sha256) {
        throw new SimscopeError(
          'checksum_mismatch',
          `query.sha256: the bytes that arrived hash to ${got.sha256}, not ${claimed}`,
          { details: { field: 'sha256', expected: claimed, actual: got.sha256 } },
        );
      }
      if (declared !== null && declared !== got.size) {
        throw new SimscopeError(
          'invalid_field',
          `query.size: ${declared} bytes were announced but ${got.size} arrived`,
          { details: { field: 'size', expected: declared, actual: got.size } },
        );
      }
      const { artifact, replaced } = await ctx.store.artifacts.saveArtifact(
        {
          runPk: run.pk,
          workspaceId,
          name,
          category,
          mimeType,
          size: got.size,
          sha256: got.sha256,
          metadata,
          createdAt: ctx.now(),
        },
        {
          quota: this.#quota,
          place: async (created) => {
            if (!created && (await blobs.has(got.sha256))) return;
            if (!staged) {
              throw new SimscopeError(
                'unavailable',
                'the stored copy of these bytes was removed while they arrived; send them again',
              );
            }
            await blobs.commit(staged).catch((error) => {
              throw storageError(error);
            });
            placed = true;
          },
        },
      );
      if (replaced && replaced.sha256 !== artifact.sha256) await this.collect(ctx.store);
      return { artifact: artifactView(artifact), created: replaced === null };
    } finally {
      if (staged && !placed) await blobs.discard(staged).catch(() => undefined);
    }
  }

  async list(
    ctx: ServiceContext,
    run: RunRecord,
    params: ListParams,
  ): Promise<{ items: ArtifactView[]; next: string | null }> {
    const { limit } = params;
    let after: string | null = null;
    if (params.next) {
      [after] = decodeCursor(params.next, ['string']);
    }
    const rows = await ctx.store.artifacts.listArtifacts(run.pk, {
      category: params.category,
      name: params.name,
      startsWith: params.startsWith,
      contains: params.contains,
      endsWith: params.endsWith,
      after,
      limit: limit + 1,
    });
    return pageOf(rows, limit, artifactView, (last) => [last.name]);
  }

  async get(ctx: ServiceContext, run: RunRecord, name: string): Promise<ArtifactRecord> {
    const artifact = await ctx.store.artifacts.getArtifact(run.pk, name);
    if (!artifact) throw new NotFoundError('run', run.name, `has no artifact '${name}'`);
    return artifact;
  }

  /** The artifact and a stream of its bytes, or of the range a `Range` header asks for. */
  async open(
    ctx: ServiceContext,
    run: RunRecord,
    name: string,
    headers: { range: RangeRequest | null; ifRange?: string; head?: boolean },
  ): Promise<OpenedArtifact> {
    const blobs = this.#store();
    const artifact = await this.get(ctx, run, name);
    // If-Range: serve the range only while the bytes are still those the client saw.
    const stale = headers.ifRange !== undefined && headers.ifRange !== `"${artifact.sha256}"`;
    const range = stale ? null : resolveRange(headers.range, artifact.size);
    let stream: NodeJS.ReadableStream | null = null;
    if (!headers.head)
      stream =
        artifact.size === 0 ? Readable.from([]) : await blobs.read(artifact.sha256, range ?? undefined);
    return { artifact: artifactView(artifact), range, stream };
  }

  async delete(ctx: ServiceContext, run: RunRecord, name: string): Promise<void> {
    if (!(await ctx.store.artifacts.deleteArtifact(run.pk, name))) {
      throw new NotFoundError('run', run.name, `has no artifact '${name}'`);
    }
    await this.collect(ctx.store);
  }

  async usage(ctx: ServiceContext): Promise<{ bytes: number; quota: number | null }> {
    return { bytes: await ctx.store.artifacts.artifactBytes(ctx.auth.workspace.id), quota: this.#quota };
  }

  /** Frees queued blobs that no artifact references (their bytes, then their rows); returns how many. */
  async collect(store: Store): Promise<number> {
    const blobs = this.#blobs;
    if (!blobs) return 0;
    let freed = 0;
    const seen = new Set<string>();
    for (;;) {
      const batch = (await store.artifacts.queuedBlobs(200)).filter((sha) => !seen.has(sha));
      if (batch.length === 0) return freed;
      for (const sha256 of batch) {
        seen.add(sha256);
        const result = await store.artifacts.freeBlob(sha256, () => blobs.delete(sha256));
        if (result === 'freed') freed++;
      }
    }
  }

  /**
   * Removes what interrupted uploads and crashes left behind: staged uploads and unrecorded blobs older than
   * `graceMs`, and every blob no artifact references.
   */
  async sweep(store: Store, options: { graceMs: number; nowMs?: number }): Promise<SweepResult> {
    const result: SweepResult = { staged: 0, orphans: 0, freed: 0 };
    const blobs = this.#blobs;
    if (!blobs) return result;
    await store.artifacts.queueUnreferencedBlobs();
    result.freed = await this.collect(store);
    const before = (options.nowMs ?? Date.now()) - options.graceMs;
    let candidates: string[] = [];
    const checkOrphans = async () => {
      const known = await store.artifacts.knownBlobs(candidates);
      for (const sha256 of candidates) {
        if (known.has(sha256)) continue;
        await blobs.delete(sha256);
        result.orphans++;
      }
      candidates = [];
    };
    for await (const entry of blobs.list()) {
      if (entry.modifiedMs > before) continue;
      if (entry.kind === 'staged') {
        await blobs.discard(entry.id);
        result.staged++;
      } else {
        candidates.push(entry.sha256);
        if (candidates.length >= 500) await checkOrphans();
      }
    }
    await checkOrphans();
    return result;
  }
}

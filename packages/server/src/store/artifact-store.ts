import type { ArtifactCategory, JsonObject } from '@simscope/protocol';

export interface ArtifactRecord {
  pk: number;
  runPk: number;
  workspaceId: string;
  name: string;
  category: ArtifactCategory;
  mimeType: string;
  size: number;
  sha256: string;
  metadata: JsonObject;
  createdAt: number;
}

export type NewArtifact = Omit<ArtifactRecord, 'pk'>;

export interface ArtifactQuery {
  category: ArtifactCategory | null;
  name: string | null;
  startsWith: string | null;
  contains: string | null;
  endsWith: string | null;
  /** Name of the last artifact of the previous page. */
  after: string | null;
  limit: number;
}

export interface SaveArtifactOptions {
  /** Bytes the workspace may hold (distinct blobs its artifacts reference); null for no limit. */
  quota: number | null;
  /**
   * Makes sure the blob's bytes are in the blob store. Called inside the transaction while the blob's row is
   * locked, so no collection can remove the bytes meanwhile; `created` is true when the row is new.
   */
  place(created: boolean): Promise<void>;
}

/** What `freeBlob` found: freed, still referenced, locked by an upload, or already without a row. */
export type FreeBlobResult = 'freed' | 'in_use' | 'busy' | 'gone';

/** Artifact rows and the blob index; part of `Store`. */
export interface ArtifactStore {
  /**
   * Saves the artifact (run, name), replacing any artifact of that name, and records its blob. Throws
   * `quota_exceeded` when the workspace would hold more than `quota` bytes. Returns the artifact it replaced.
   */
  saveArtifact(
    artifact: NewArtifact,
    options: SaveArtifactOptions,
  ): Promise<{ artifact: ArtifactRecord; replaced: ArtifactRecord | null }>;
  getArtifact(runPk: number, name: string): Promise<ArtifactRecord | undefined>;
  /** Artifacts of a run ordered by name. */
  listArtifacts(runPk: number, query: ArtifactQuery): Promise<ArtifactRecord[]>;
  deleteArtifact(runPk: number, name: string): Promise<boolean>;
  /** Bytes of the distinct blobs that the workspace's artifacts reference. */
  artifactBytes(workspaceId: string): Promise<number>;
  /** True when a blob row exists, or (with `workspaceId`) when an artifact of that workspace references it. */
  hasBlob(sha256: string, workspaceId?: string): Promise<boolean>;
  /** The hashes among `sha256s` that have a blob row. */
  knownBlobs(sha256s: readonly string[]): Promise<Set<string>>;
  /** Hashes queued as possibly unreferenced (by artifact deletions and replacements, cascades included). */
  queuedBlobs(limit: number): Promise<string[]>;
  /** Queues every blob that no artifact references; returns how many were queued. */
  queueUnreferencedBlobs(): Promise<number>;
  /**
   * Frees a queued blob if no artifact references it: calls `remove` (deleting its bytes) and deletes its row in
   * one transaction that holds the row's lock.
   */
  freeBlob(sha256: string, remove: () => Promise<void>): Promise<FreeBlobResult>;
}

import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
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

/** Where and how to reach an S3-compatible store. */
export interface S3BlobStoreConfig {
  bucket: string;
  /** Key prefix, such as `simscope/`; empty for the bucket's root. */
  prefix?: string;
  /** Endpoint of an S3-compatible server (MinIO, Ceph…); AWS's when unset. */
  endpoint?: string;
  region?: string;
  /** `bucket` in the path instead of the host name (most self-hosted servers need it). */
  forcePathStyle?: boolean;
  /** Explicit keys; otherwise the AWS default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Bytes per part of a multipart upload (at least 5 MiB). */
  partSize?: number;
  /** Parts in flight per upload: memory per upload is about `partSize * queueSize`. */
  queueSize?: number;
  /** Largest object copied in one CopyObject call; larger ones are copied part by part (S3 allows 5 GiB). */
  copyLimit?: number;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

function errorName(error: unknown): string {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.$metadata?.httpStatusCode === 404) return 'NotFound';
  return e?.name ?? e?.Code ?? '';
}

/** An S3 server out of space (MinIO's XMinioStorageFull, HTTP 507) is a full disk to our callers. */
function storageFull(error: unknown): unknown {
  const e = error as { $metadata?: { httpStatusCode?: number } };
  if (e?.$metadata?.httpStatusCode !== 507 && !/StorageFull|InsufficientStorage/.test(errorName(error)))
    return error;
  return new SimscopeError('storage_full', 'the blob store is out of space; free some space, then retry', {
    cause: error,
  });
}

/**
 * Blobs in an S3-compatible bucket: `PREFIX/sha256/HASH` for committed ones and `PREFIX/tmp/ID` for staged ones.
 * Uploads stream through a multipart upload (a single PUT below one part); a commit is a server-side copy.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #copyLimit: number;

  constructor(config: S3BlobStoreConfig) {
    this.#bucket = config.bucket;
    this.#prefix = config.prefix ? `${config.prefix.replace(/\/+$/, '')}/` : '';
    this.#partSize = Math.max(5 * MIB, config.partSize ?? 8 * MIB);
    this.#queueSize = config.queueSize ?? 4;
    this.#copyLimit = config.copyLimit ?? 5 * GIB;
    this.#client = new S3Client({
      region: config.region ?? 'us-east-1',
      forcePathStyle: config.forcePathStyle ?? false,
      // Checksums only where S3 requires them: self-hosted servers often lack the newer checksum headers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.credentials ? { credentials: config.credentials } : {}),
    });
  }

  /**
   * Reads `s3://BUCKET/PREFIX?endpoint=URL&region=R&forcePathStyle=true` (credentials come from the AWS
   * environment variables or profile).
   */
  static fromUrl(url: string): S3BlobStore {
    const parsed = new URL(url);
    if (parsed.protocol !== 's3:' || !parsed.hostname) {
      throw new SimscopeError('invalid_field', `blob store: '${url}' is not of the form s3://BUCKET/PREFIX`);
    }
    const q = parsed.searchParams;
    const style = q.get('forcePathStyle') ?? q.get('pathStyle');
    return new S3BlobStore({
      bucket: parsed.hostname,
      prefix: decodeURIComponent(parsed.pathname.replace(/^\/+/, '')),
      endpoint: q.get('endpoint') ?? undefined,
      region: q.get('region') ?? undefined,
      forcePathStyle: style === null ? Boolean(q.get('endpoint')) : style === 'true' || style === '1',
    });
  }

  #key(sha256: string): string {
    if (!isSha256(sha256)) throw new SimscopeError('invalid_field', `'${sha256}' is not a sha256`);
    return `${this.#prefix}sha256/${sha256}`;
  }

  #stagedKey(id: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new SimscopeError('invalid_field', `'${id}' is not a staging id`);
    return `${this.#prefix}tmp/${id}`;
  }

  async stage(source: NodeJS.ReadableStream, options: StageOptions = {}): Promise<StagedBlob> {
    const id = newStagingId();
    const counter = new HashingCounter(options.maxBytes);
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: this.#stagedKey(id), Body: counter },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      // We abort ourselves, so that a server without AbortMultipartUpload does not hide the first error.
      leavePartsOnError: true,
    });
    const failed = new Promise<never>((_resolve, reject) => counter.once('error', reject));
    feed(source, counter);
    try {
      await Promise.race([upload.done(), failed]);
    } catch (error) {
      counter.destroy();
      await upload.abort().catch(() => undefined);
      await this.discard(id).catch(() => undefined);
      throw storageFull(error);
    }
    return { id, sha256: counter.sha256, size: counter.byteCount };
  }

  async commit(staged: StagedBlob): Promise<void> {
    const from = this.#stagedKey(staged.id);
    const to = this.#key(staged.sha256);
    if (staged.size <= this.#copyLimit) {
      await this.#client.send(
        new CopyObjectCommand({ Bucket: this.#bucket, Key: to, CopySource: this.#copySource(from) }),
      );
    } else {
      await this.#copyInParts(from, to, staged.size);
    }
    await this.discard(staged);
  }

  #copySource(key: string): string {
    return `${this.#bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  async #copyInParts(from: string, to: string, size: number): Promise<void> {
    let uploadId: string | undefined;
    try {
      const { UploadId } = await this.#client.send(
        new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: to }),
      );
      uploadId = UploadId;
      const parts: { ETag: string; PartNumber: number }[] = [];
      const step = Math.max(this.#partSize, Math.ceil(size / 10_000));
      for (let start = 0, n = 1; start < size; start += step, n++) {
        const end = Math.min(size, start + step) - 1;
        const answer = await this.#client.send(
          new UploadPartCopyCommand({
            Bucket: this.#bucket,
            Key: to,
            UploadId,
            PartNumber: n,
            CopySource: this.#copySource(from),
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts.push({ ETag: answer.CopyPartResult?.ETag ?? '', PartNumber: n });
      }
      await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: to,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      if (!['NotImplemented', 'MethodNotAllowed'].includes(errorName(error))) throw error;
      if (uploadId) {
        await this.#client
          .send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: to, UploadId: uploadId }))
          .catch(() => undefined);
      }
      // Servers without UploadPartCopy: stream the bytes through this process instead.
      const body = (await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: from })))
        .Body as Readable;
      await new Upload({
        client: this.#client,
        params: { Bucket: this.#bucket, Key: to, Body: body },
        partSize: this.#partSize,
        queueSize: this.#queueSize,
      }).done();
    }
  }

  async discard(staged: StagedBlob | string): Promise<void> {
    const key = this.#stagedKey(typeof staged === 'string' ? staged : staged.id);
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(sha256) }));
      return true;
    } catch (error) {
      const name = errorName(error);
      if (name === 'NotFound' || name === 'NoSuchKey') return false;
      throw error;
    }
  }

  async read(sha256: string, range?: ByteRange): Promise<NodeJS.ReadableStream> {
    const answer = await this.#client.send(
      new GetObjectCommand({
        Bucket: this.#bucket,
        Key: this.#key(sha256),
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
    const body = answer.Body;
    if (body instanceof Readable) return body;
    throw new SimscopeError('internal', 'the S3 client returned no stream');
  }

  async delete(sha256: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(sha256) }));
  }

  async *list(): AsyncIterable<BlobEntry> {
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.#prefix.length) ?? '';
        const modifiedMs = object.LastModified?.getTime() ?? 0;
        const [area, name, ...rest] = key.split('/');
        if (!name || rest.length > 0) continue;
        if (area === 'tmp' && /^[A-Za-z0-9_-]+$/.test(name)) yield { kind: 'staged', id: name, modifiedMs };
        if (area === 'sha256' && isSha256(name)) yield { kind: 'blob', sha256: name, modifiedMs };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3 } from '../../../../test/s3-server.js';
import type { BlobEntry, BlobStore } from './blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';

const MIB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

async function entries(store: BlobStore): Promise<BlobEntry[]> {
  const out: BlobEntry[] = [];
  for await (const e of store.list()) out.push(e);
  return out;
}

/** Sends `data` in 64 KiB chunks, then fails with `error` if given. */
function source(data: Buffer, error?: Error): Readable {
  return Readable.from(
    (async function* () {
      for (let at = 0; at < data.length; at += 64 * 1024) yield data.subarray(at, at + 64 * 1024);
      if (error) throw error;
    })(),
  );
}

describe.each(['local', 's3'] as const)('%s blob store', (kind) => {
  let store: BlobStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    if (kind === 'local') {
      const dir = mkdtempSync(join(tmpdir(), 'simscope-blobs-'));
      store = new LocalBlobStore(dir);
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const s3 = await startS3();
      store = new S3BlobStore({ ...s3.config, prefix: 'simscope', partSize: 5 * MIB, copyLimit: 6 * MIB });
      cleanup = async () => {
        await store.close();
        await s3.stop();
      };
    }
  });
  afterAll(async () => {
    await cleanup();
  });

  it('stages with the sha256 and size of what arrived, commits under the hash, reads whole and by range', async () => {
    const data = randomBytes(300_000);
    const staged = await store.stage(source(data));
    expect(staged.sha256).toBe(sha(data));
    expect(staged.size).toBe(300_000);
    expect(await store.has(staged.sha256)).toBe(false);
    expect((await entries(store)).map((e) => e.kind)).toEqual(['staged']);
    await store.commit(staged);
    expect(await store.has(staged.sha256)).toBe(true);
    expect(await entries(store)).toEqual([
      { kind: 'blob', sha256: sha(data), modifiedMs: expect.any(Number) },
    ]);
    expect((await bytesOf(await store.read(staged.sha256))).equals(data)).toBe(true);
    const part = await bytesOf(await store.read(staged.sha256, { start: 1000, end: 1999 }));
    expect(part.equals(data.subarray(1000, 2000))).toBe(true);
    await store.delete(staged.sha256);
    await store.delete(staged.sha256);
    expect(await store.has(staged.sha256)).toBe(false);
    expect(await entries(store)).toEqual([]);
  });

  it('keeps one blob for the same bytes committed twice, and discards staged copies', async () => {
    const data = randomBytes(10_000);
    const a = await store.stage(source(data));
    const b = await store.stage(source(data));
    expect(a.id).not.toBe(b.id);
    expect(a.sha256).toBe(b.sha256);
    await store.commit(a);
    await store.commit(b);
    const c = await store.stage(source(data));
    await store.discard(c);
    await store.discard(c);
    expect(await entries(store)).toEqual([
      { kind: 'blob', sha256: sha(data), modifiedMs: expect.any(Number) },
    ]);
    await store.delete(a.sha256);
  });

  it('leaves nothing behind when the source fails or brings more than maxBytes', async () => {
    await expect(store.stage(source(randomBytes(200_000), new Error('connection reset')))).rejects.toThrow(
      'connection reset',
    );
    await expect(store.stage(source(randomBytes(200_000)), { maxBytes: 100_000 })).rejects.toMatchObject({
      code: 'quota_exceeded',
    });
    expect(await entries(store)).toEqual([]);
  });

  it('stores an empty blob', async () => {
    const staged = await store.stage(source(Buffer.alloc(0)));
    expect(staged).toMatchObject({ size: 0, sha256: sha(Buffer.alloc(0)) });
    await store.commit(staged);
    expect((await bytesOf(await store.read(staged.sha256))).length).toBe(0);
    await store.delete(staged.sha256);
  });

  it.runIf(kind === 's3')(
    'uploads in parts and copies a blob larger than one CopyObject by parts',
    async () => {
      const data = randomBytes(13 * MIB);
      const staged = await store.stage(source(data));
      expect(staged.sha256).toBe(sha(data));
      // copyLimit is 6 MiB here, so the commit copies part by part (or streams when the server lacks that).
      await store.commit(staged);
      const back = await bytesOf(await store.read(staged.sha256));
      expect(back.length).toBe(data.length);
      expect(sha(back)).toBe(sha(data));
      expect(await entries(store)).toEqual([
        { kind: 'blob', sha256: sha(data), modifiedMs: expect.any(Number) },
      ]);
      await store.delete(staged.sha256);
    },
  );

  it('rejects keys that are not hashes', async () => {
    await expect(store.has('../../etc/passwd')).rejects.toMatchObject({ code: 'invalid_field' });
    await expect(store.discard('../x')).rejects.toMatchObject({ code: 'invalid_field' });
  });
});

describe('S3BlobStore.fromUrl', () => {
  it('reads bucket, prefix, endpoint, region and path style from an s3:// URL', async () => {
    const s3 = await startS3('from-url');
    const store = S3BlobStore.fromUrl(`s3://from-url/deep/prefix?endpoint=${s3.endpoint}&region=eu-west-1`);
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    try {
      const staged = await store.stage(source(Buffer.from('hello')));
      await store.commit(staged);
      expect(await entries(store)).toEqual([
        { kind: 'blob', sha256: sha(Buffer.from('hello')), modifiedMs: expect.any(Number) },
      ]);
      expect((await bytesOf(await store.read(staged.sha256))).toString()).toBe('hello');
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      await store.close();
      await s3.stop();
    }
    expect(() => S3BlobStore.fromUrl('s3:///no-bucket')).toThrow('is not of the form s3://BUCKET/PREFIX');
  });
});

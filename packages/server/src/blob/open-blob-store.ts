import { resolve } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';

/** Opens the blob store a `--blob-store` setting names: `s3://BUCKET/PREFIX?…` or a directory. */
export async function openBlobStore(spec: string): Promise<BlobStore> {
  if (spec.startsWith('s3://')) {
    // The AWS SDK is loaded only by servers that use it.
    const { S3BlobStore } = await import('./s3-blob-store.js');
    return S3BlobStore.fromUrl(spec);
  }
  return new LocalBlobStore(resolve(spec));
}

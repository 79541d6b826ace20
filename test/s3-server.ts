import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3BlobStoreConfig } from '../packages/server/src/blob/s3-blob-store.js';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  httpServer: Server;
  store: {
    deleteObject(bucket: string, key: string): Promise<void>;
    getResourcePath(bucket: string, key: string, resource: string): string;
  };
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/**
 * s3rver removes a key's parent folders when a delete leaves them empty, while a put into the same folder may be
 * between creating the folder and opening its file: the open then fails outside any handler and takes the test
 * process down (seen under load: a staged blob discarded beside another being staged). S3 has no folders, so its
 * deletes here only remove the object's own files.
 */
function keepDirectories(server: S3rverInstance) {
  const store = server.store;
  store.deleteObject = async (bucket, key) => {
    for (const resource of ['object', 'object.md5', 'metadata.json'])
      rmSync(store.getResourcePath(bucket, key, resource), { force: true });
  };
}

/** An S3 server (s3rver) on 127.0.0.1 with one empty bucket, storing in a temp dir; `stop()` removes it all. */
export async function startS3(bucket = 'simscope') {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const directory = mkdtempSync(join(tmpdir(), 'simscope-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: process.env.S3_VERBOSE !== '1',
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  keepDirectories(server);
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const config: S3BlobStoreConfig = {
    bucket,
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  };
  return {
    endpoint,
    directory,
    config,
    stop: async () => {
      server.httpServer.closeAllConnections();
      await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

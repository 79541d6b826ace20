import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from './s3-blob-store.js';

// What MinIO answers once its drives are below their free-space threshold.
const FULL = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>XMinioStorageFull</Code><Message>Storage backend has reached its minimum free drive threshold.</Message></Error>`;

describe('S3 blob store on a full server', () => {
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(req.method === 'PUT' ? 507 : 204, { 'content-type': 'application/xml' });
        res.end(req.method === 'PUT' ? FULL : undefined);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses a staged blob with storage_full', async () => {
    const store = new S3BlobStore({
      bucket: 'simscope',
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    try {
      const error = await store.stage(Readable.from([Buffer.alloc(1000, 7)])).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'storage_full',
        message: 'the blob store is out of space; free some space, then retry',
      });
    } finally {
      await store.close();
    }
  });
});

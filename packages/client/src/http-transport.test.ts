import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpTransport } from './http-transport.js';

describe('HttpTransport', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('retries a 507 storage_full after its Retry-After, as it does a 503', async () => {
    const seen: string[] = [];
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (seen.length === 1) {
        res.writeHead(507, { 'content-type': 'application/json', 'retry-after': '0' });
        res.end(JSON.stringify({ error: { code: 'storage_full', message: 'the database disk is full' } }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ stored: true, points: 1 }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const transport = new HttpTransport({ url: `http://127.0.0.1:${port}`, token: 'ssk_x' });
    const answer = await transport.request('POST', '/runs/r/metrics', { json: { seq: 0 }, idempotent: true });
    expect(answer).toEqual({ stored: true, points: 1 });
    expect(seen).toEqual(['POST /api/v1/runs/r/metrics', 'POST /api/v1/runs/r/metrics']);
  });
});

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

  it('calls a route of the table: path from its params, the query in the URL, the body as JSON', async () => {
    const seen: string[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        if (req.method === 'DELETE') res.writeHead(204).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'r1' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const transport = new HttpTransport({ url: `http://127.0.0.1:${port}`, token: 'ssk_x' });
    const run = await transport.call('updateRun', { params: { run: 'a b/c' }, body: { name: 'x' } });
    expect(run).toEqual({ id: 'r1' });
    const gone = await transport.call('deleteArtifact', {
      params: { run: 'r1' },
      query: { name: 'out/log.txt', category: undefined },
    });
    expect(gone).toBe(undefined);
    await transport.call('listAlerts', { query: { critical: true } });
    expect(seen).toEqual([
      'PATCH /api/v1/runs/a%20b%2Fc {"name":"x"}',
      'DELETE /api/v1/runs/r1/artifacts?name=out%2Flog.txt ',
      'GET /api/v1/alerts?critical=true ',
    ]);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

/** A port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('a server process for operators', () => {
  let home: string;
  let server: ServerProcess;
  let metricsPort: number;

  beforeAll(async () => {
    buildServer();
    home = mkdtempSync(join(tmpdir(), 'simscope-ops-'));
    metricsPort = await freePort();
    server = await ServerProcess.start({
      home,
      args: [
        '--metrics-port',
        String(metricsPort),
        '--log-level',
        'debug',
        '--rate-limit',
        'token.requests=1000',
      ],
    });
  }, 120_000);
  afterAll(async () => {
    server.kill();
    await server.waitForExit();
    rmSync(home, { recursive: true, force: true });
  });

  it('serves /metrics on the loopback listener without a token, with its leases and rate limits', async () => {
    const run = await fetch(`${server.url}/api/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${E2E_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ops' }),
    });
    expect(run.status).toBe(201);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toContain(
      'simscope_http_requests_total{method="POST",route="/api/v1/runs",status="201"} 1\n',
    );
    // SQLite: one process holds every lease.
    for (const lease of ['lost-runs', 'alert-evaluation', 'notification-outbox', 'blob-gc', 'retention']) {
      expect(text).toContain(`simscope_lease_holder{lease="${lease}"} 1\n`);
    }
    expect(text).toContain('simscope_db_connections{state="open"} 1\n');
    expect(text).toMatch(/\nnodejs_eventloop_lag_seconds \d/);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
  });

  it('logs each request as JSON with the request id it sends back', async () => {
    const res = await fetch(`${server.url}/api/v1/version`, { headers: { 'x-request-id': 'ops-trace-7' } });
    expect(res.headers.get('x-request-id')).toBe('ops-trace-7');
    await new Promise((r) => setTimeout(r, 200));
    const lines = server.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { requestId?: string; msg?: string; res?: { statusCode: number } });
    const mine = lines.filter((l) => l.requestId === 'ops-trace-7');
    expect(mine.map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
    expect(mine[1]!.res!.statusCode).toBe(200);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Run } from '@simscope/client';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createDatabase, freePort } from '../scripts/postgres-cluster.js';
import { useNotificationReceivers } from '../test/notification-receivers.js';
import { startS3 } from '../test/s3-server.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const quiet = { systemInfo: false, onError: () => {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Debian's nginx in front of the servers: its own prefix and config, round robin, `daemon off`, on loopback. */
async function startNginx(dir: string, upstreams: string[]) {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const conf = `
daemon off;
worker_processes 1;
${process.getuid?.() === 0 ? 'user root;' : ''}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 64m;
  client_body_buffer_size 1m;
  upstream simscope {
${upstreams.map((u) => `    server ${u} max_fails=0;`).join('\n')}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://simscope;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_next_upstream error timeout http_502;
      proxy_connect_timeout 2s;
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(
    '/usr/sbin/nginx',
    ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
      return fetch(`${url}/api/v1/health`).then(
        (r) => r.ok,
        () => false,
      );
    },
    10_000,
    'nginx',
  );
  return {
    url,
    stop: async () => {
      child.kill('SIGQUIT');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

interface Sse {
  raw: string;
  events: { event: string; data: any }[];
  done: Promise<void>;
  close(): void;
}

/** A server-sent event stream read with fetch, keeping the raw text too. */
async function openStream(url: string): Promise<Sse> {
  const abort = new AbortController();
  const res = await fetch(`${url}/api/v1/live`, {
    headers: { authorization: `Bearer ${E2E_TOKEN}` },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  const sse: Sse = { raw: '', events: [], done: Promise.resolve(), close: () => abort.abort() };
  sse.done = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body!) {
        const text = decoder.decode(chunk as Uint8Array, { stream: true });
        sse.raw += text;
        buffer += text;
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) sse.events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted
    }
  })();
  return sse;
}

const receivers = useNotificationReceivers();

describe('three servers over PostgreSQL and S3 behind nginx', () => {
  let home: string;
  let db: string;
  let s3: Awaited<ReturnType<typeof startS3>>;
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  const servers: ServerProcess[] = [];
  let args: string[];
  let env: Record<string, string>;

  const start = (name: string, port = 0) =>
    ServerProcess.start({ home: join(home, name), db, port, args, env, startTimeout: 30_000 });

  beforeAll(async () => {
    buildServer();
    home = mkdtempSync(join(tmpdir(), 'simscope-e2e-scale-'));
    db = await createDatabase(inject('postgresUrl'), `scale_${randomBytes(6).toString('hex')}`);
    s3 = await startS3();
    args = [
      '--blob-store',
      `s3://simscope/scale?endpoint=${s3.endpoint}&region=us-east-1&forcePathStyle=true`,
      '--alert-interval',
      '0.2',
      '--webhook-allow',
      '127.0.0.1',
      '--smtp-host',
      receivers.mail.host,
      '--smtp-port',
      String(receivers.mail.port),
      '--smtp-tls',
      'none',
      '--smtp-from',
      'simscope@example.org',
    ];
    env = {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      SIMSCOPE_SWEEP_INTERVAL: '0.3',
      SIMSCOPE_SHUTDOWN_TIMEOUT: '10',
    };
    // One at a time: the first migrates the new database.
    for (const name of ['a', 'b', 'c']) servers.push(await start(name));
    nginx = await startNginx(
      join(home, 'nginx'),
      servers.map((s) => new URL(s.url).host),
    );
  }, 120_000);

  // Some tests kill or restart servers: each test starts with all three up again, on their own ports, so that no
  // test depends on the order they run in.
  beforeEach(async () => {
    for (const [i, name] of ['a', 'b', 'c'].entries()) {
      const server = servers[i]!;
      if (server.running) continue;
      servers[i] = await start(name, Number(new URL(server.url).port));
    }
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    for (const server of servers) if (server.running) server.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.waitForExit()));
    await s3?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  const call = async (url: string, method: string, path: string, body?: unknown, headers = {}) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${E2E_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  it('is ready on every server, and replays a retried Idempotency-Key request sent to another server', async () => {
    for (const server of servers) {
      const ready = await call(server.url, 'GET', '/ready');
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.text)).toEqual({
        ok: true,
        database: true,
        migrations: true,
        blobs: true,
        draining: false,
      });
    }
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const key = { 'idempotency-key': 'create-once' };
    const first = await call(a.url, 'POST', '/runs', { name: 'idempotent' }, key);
    expect(first.status).toBe(201);
    const retry = await call(b.url, 'POST', '/runs', { name: 'idempotent' }, key);
    expect(retry.status).toBe(201);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const runs = JSON.parse((await call(b.url, 'GET', '/runs?limit=100')).text).items as { name: string }[];
    expect(runs.filter((r) => r.name === 'idempotent' || r.name.startsWith('idempotent-'))).toHaveLength(1);
  });

  it('shows writes taken by B and C on a live stream of A within 1 s, and marks a silent run lost once', async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const live = await openStream(a.url);
    await waitFor(() => live.events.some((e) => e.event === 'ready'), 5000, 'the ready event');
    let t0 = Date.now();
    const created = JSON.parse((await call(b.url, 'POST', '/runs', { name: 'seen-on-a' })).text);
    await waitFor(
      () => live.events.some((e) => e.event === 'run' && e.data.run.id === created.id),
      1000,
      'the run made on B',
    );
    const runLatency = Date.now() - t0;
    t0 = Date.now();
    const batch = { writer: 'w', seq: 0, series: [{ name: 'loss', steps: [0, 1], values: [1, 0.5] }] };
    expect((await call(c.url, 'POST', `/runs/${created.id}/metrics`, batch)).status).toBeLessThan(300);
    await waitFor(
      () => live.events.some((e) => e.event === 'metrics' && e.data.run === created.id),
      1000,
      'the points taken by C',
    );
    expect(runLatency).toBeLessThan(1000);
    expect(Date.now() - t0).toBeLessThan(1000);

    const silent = JSON.parse(
      (await call(b.url, 'POST', '/runs', { name: 'silent', heartbeatTimeout: 1 })).text,
    );
    const lostEvents = () =>
      live.events.filter(
        (e) => e.event === 'run' && e.data.run.id === silent.id && e.data.run.status === 'lost',
      );
    await waitFor(() => lostEvents().length === 1, 10_000, 'the silent run marked lost');
    await sleep(2000);
    expect(lostEvents()).toHaveLength(1);
    expect(JSON.parse((await call(c.url, 'GET', `/runs/${silent.id}`)).text).status).toBe('lost');
    live.close();
    await live.done;
  }, 30_000);

  it('sends exactly one email and one webhook for a critical alert although three servers evaluate', async () => {
    const run = await new Run()
      .config({ url: nginx.url, token: E2E_TOKEN, ...quiet, suppressErrors: false, flushIntervalMs: 50 })
      .init({ name: 'hot-run' });
    await run.addAlert({
      name: 'hot',
      metric: 'temperature',
      rule: 'is above',
      threshold: 50,
      window: 1,
      frequency: 0.5,
      notification: ['email', 'webhook'],
      emails: ['ops@example.org'],
      webhook: receivers.hooks.url,
    });
    await waitFor(
      async () => {
        run.logMetrics({ temperature: 80 });
        return receivers.hooks.requests.length >= 1 && receivers.mail.messages.length >= 1;
      },
      20_000,
      'the critical email and webhook',
    );
    await run.flush();
    // Several more passes of the engine (0.5 s slots, 0.2 s ticks) on all three servers.
    await sleep(3000);
    expect(receivers.hooks.requests.map((r) => JSON.parse(r.body).type)).toEqual(['alert.critical']);
    expect(receivers.mail.messages).toHaveLength(1);
    expect(receivers.mail.messages[0]!.to).toEqual(['ops@example.org']);
    await run.close();
  }, 40_000);

  /** Logs `steps` points on each of `count` runs through nginx, calling `during` half-way; then checks them all. */
  async function logThrough(prefix: string, count: number, steps: number, during: () => Promise<void>) {
    const runs = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        new Run()
          .config({
            url: nginx.url,
            token: E2E_TOKEN,
            ...quiet,
            suppressErrors: false,
            flushIntervalMs: 20,
            spoolDir: join(home, 'spool'),
          })
          .init({ name: `${prefix}-${i}` }),
      ),
    );
    const logging = (async () => {
      for (let step = 0; step < steps; step++) {
        for (const run of runs) run.logMetrics({ x: step }, { step });
        if (step % 20 === 19) await sleep(10);
      }
    })();
    await sleep(150);
    await during();
    await logging;
    for (const run of runs) await run.close();
    const client = new Client({ url: nginx.url, token: E2E_TOKEN });
    for (const [i] of runs.entries()) {
      const [series] = await client.getMetricValues(`${prefix}-${i}`, 'x');
      const stored = [...series!.x];
      expect(stored.length).toBe(steps);
      expect(new Set(stored).size).toBe(steps);
      expect(stored).toEqual(Array.from({ length: steps }, (_, s) => s));
    }
  }

  it('loses and duplicates no acknowledged point while one server is killed and another restarted', async () => {
    const [, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    await logThrough('failover', 3, 3000, async () => {
      c.kill('SIGKILL');
      await c.waitForExit();
      await sleep(300);
      const at = Date.now();
      b.kill('SIGTERM');
      expect(await b.waitForExit()).toEqual({ code: 0, signal: null });
      expect(Date.now() - at).toBeLessThan(10_000);
      servers[1] = await start('b', Number(new URL(b.url).port));
    });
  }, 120_000);

  it('finishes in-flight batches on SIGTERM during ingest, and ends live streams with a reconnect hint', async () => {
    const a = servers[0]!;
    const live = await openStream(a.url);
    let exited: Promise<unknown> = Promise.resolve();
    await logThrough('sigterm', 2, 3000, async () => {
      const at = Date.now();
      a.kill('SIGTERM');
      exited = a.waitForExit().then((exit) => {
        expect(exit).toEqual({ code: 0, signal: null });
        expect(Date.now() - at).toBeLessThan(10_000);
      });
    });
    await exited;
    await live.done;
    expect(live.raw).toContain('retry: 500\nevent: shutdown\ndata: {"reconnect":true}\n\n');
    // A started first and so held every lease; the restarted B takes them over once A lets them go.
    const b = servers[1]!;
    const silent = JSON.parse(
      (await call(b.url, 'POST', '/runs', { name: 'after-a', heartbeatTimeout: 1 })).text,
    );
    await waitFor(
      async () => JSON.parse((await call(b.url, 'GET', `/runs/${silent.id}`)).text).status === 'lost',
      5000,
      'the lost-run sweep on the server that took the lease over',
    );
  }, 120_000);
});

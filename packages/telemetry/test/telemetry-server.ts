// A real Simscope server (SQLite, in this process) on a loopback port, with telemetry keys, for the package tests.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TelemetryRecordView } from '@simscope/protocol';
import type { FastifyInstance } from 'fastify';
import { ADMIN_TOKEN, openTestStore } from '../../../test/fixtures.js';
import { bootstrap } from '../../server/src/bootstrap.js';
import { createApp } from '../../server/src/http/app.js';
import type { Store } from '../../server/src/store/store.js';

export interface TelemetryServer {
  url: string;
  port: number;
  store: Store;
  /** Creates an ingest-only key for a service path. */
  key(service: string): Promise<string>;
  /** Every record of a service, oldest first, through the API. */
  records(service: string): Promise<TelemetryRecordView[]>;
  /** Stops listening; the data stays. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function listen(store: Store, port: number): Promise<FastifyInstance> {
  const app = await createApp({ store });
  await app.listen({ host: '127.0.0.1', port });
  return app;
}

export async function startTelemetryServer(): Promise<TelemetryServer> {
  const { store, cleanup } = await openTestStore('sqlite');
  await bootstrap(store, Date.now() * 1000, ADMIN_TOKEN);
  let app: FastifyInstance | undefined = await listen(store, 0);
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${url}/api/v1${path}`, { ...init, headers: admin });
    const body = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  return {
    url,
    port,
    store,
    key: async (service) =>
      (
        await api('/admin/telemetry/keys', {
          method: 'POST',
          body: JSON.stringify({ service, name: 'test' }),
        })
      ).key as string,
    records: async (service) => {
      const out: TelemetryRecordView[] = [];
      let next: string | null = null;
      do {
        const query = new URLSearchParams({ service, limit: '1000', ...(next ? { next } : {}) });
        const page = (await api(`/telemetry/records?${query}`)) as {
          items: TelemetryRecordView[];
          next: string | null;
        };
        out.push(...page.items);
        next = page.next;
      } while (next);
      return out;
    },
    stop: async () => {
      await app?.close();
      app = undefined;
    },
    restart: async () => {
      app = await listen(store, port);
    },
    close: async () => {
      await app?.close();
      await cleanup();
    },
  };
}

/** A loopback HTTP server that counts the requests it gets and answers each with 200. */
export async function startCountingServer(): Promise<{
  url: string;
  requests: () => number;
  close(): Promise<void>;
}> {
  let count = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    count++;
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"stored":true}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A loopback proxy to `target` that forwards every request but, for the first `lose` of them, cuts the connection
 * instead of answering: the server stored the batch, the sender never heard so.
 */
export async function startLossyProxy(
  target: string,
  lose: number,
): Promise<{ url: string; forwarded: () => number; close(): Promise<void> }> {
  let forwarded = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method ?? 'POST',
      headers: { authorization: String(req.headers.authorization), 'content-type': 'application/json' },
      body: Buffer.concat(chunks),
    });
    const text = await upstream.text();
    forwarded++;
    if (forwarded <= lose) {
      req.socket.destroy();
      return;
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwarded: () => forwarded,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

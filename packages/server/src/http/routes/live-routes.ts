import { apiRoute, type LiveMessage } from '@simscope/protocol';
import type { FastifyInstance } from 'fastify';
import type { AccessLoss, AuthService } from '../../services/auth-service.js';
import type { LiveHub } from '../../services/live-hub.js';
import type { Store } from '../../store/store.js';
import { authOf } from '../request-auth.js';
import type { RegisterRoute } from './register.js';

export interface LiveRoutesConfig {
  app: FastifyInstance;
  register: RegisterRoute;
  store: Store;
  hub: LiveHub;
  /** Checks again, while a stream is open, that its caller may still read the workspace. */
  auth: AuthService;
  /** Microsecond clock that token expiry is measured against. */
  now(): number;
  /** Milliseconds between checks of an open stream's token and membership (also at once on `hub.accessChanged()`). */
  recheckMs?: number;
  /** Milliseconds over which a connection's messages are gathered before they are sent. */
  flushMs?: number;
  /** Milliseconds between keep-alive comments. */
  keepAliveMs?: number;
}

/** How long a stream closed by a shutdown asks its client to wait before reconnecting, in ms. */
const SHUTDOWN_RETRY_MS = 500;

function messageKey(m: LiveMessage): string {
  switch (m.type) {
    case 'run':
      return `run:${m.run.id}`;
    case 'folder':
      return `folder:${m.path}`;
    default:
      return `${m.type}:${m.run}`;
  }
}

function concerns(m: LiveMessage, runs: ReadonlySet<string> | null): boolean {
  if (!runs) return true;
  if (m.type === 'folder') return false;
  if (m.type === 'run') return runs.has(m.run.id) || runs.has(m.run.name);
  return runs.has(m.run);
}

/**
 * `GET /api/v1/live`: a server-sent event stream of the workspace's changes (runs created or changed, metric
 * points and events arriving, folders edited), gathered per run over a short interval.
 */
export function registerLiveRoutes(config: LiveRoutesConfig): void {
  const { app, register, hub } = config;
  const flushMs = config.flushMs ?? 200;
  const keepAliveMs = config.keepAliveMs ?? 15_000;
  const recheckMs = config.recheckMs ?? 5_000;
  const open = new Set<() => void>();

  // preClose: before the server waits for its connections to end, which open streams never do. Each stream gets
  // what it had gathered, a reconnect delay and a `shutdown` event; EventSource then reconnects, through the load
  // balancer, to a server still running.
  app.addHook('preClose', async function endLiveStreams() {
    for (const end of [...open]) end();
  });

  register(apiRoute('live'), async function liveStream({ input, request, reply }) {
    const caller = authOf(request);
    const ws = caller.workspace.id;
    const only = input.query.runs;
    let runs: Set<string> | null = null;
    if (only !== undefined) {
      runs = new Set();
      for (const idOrName of only.split(',').filter((r) => r !== '')) {
        const run = await config.store.runs.getRun(ws, idOrName);
        runs.add(idOrName);
        if (run) runs.add(run.id).add(run.name);
      }
    }
    const pending = new Map<string, LiveMessage>();
    let timer: NodeJS.Timeout | undefined;
    const raw = reply.raw;

    let checking = false;
    let again = false;
    let recheckTimer: NodeJS.Timeout | undefined;

    const flush = () => {
      timer = undefined;
      // Held back while a check runs, so a change made after a revoke never reaches the revoked token.
      if (checking) return;
      let text = '';
      for (const m of pending.values()) text += `event: ${m.type}\ndata: ${JSON.stringify(m)}\n\n`;
      pending.clear();
      if (text) raw.write(text);
    };
    const unsubscribe = hub.subscribe(ws, (m) => {
      if (!concerns(m, runs)) return;
      const key = messageKey(m);
      const before = pending.get(key);
      if (before?.type === 'metrics' && m.type === 'metrics') {
        pending.set(key, { ...m, names: [...new Set([...before.names, ...m.names])] });
      } else {
        pending.set(key, m);
      }
      timer ??= setTimeout(flush, flushMs);
    });
    const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), keepAliveMs);
    let ended = false;
    const shutDown = () => {
      if (ended) return;
      if (timer) clearTimeout(timer);
      flush();
      raw.write(
        `retry: ${SHUTDOWN_RETRY_MS}\nevent: shutdown\ndata: ${JSON.stringify({ reconnect: true })}\n\n`,
      );
      end();
    };
    const end = () => {
      if (ended) return;
      ended = true;
      open.delete(shutDown);
      unsubscribe();
      stopAccessWatch();
      clearInterval(keepAlive);
      if (timer) clearTimeout(timer);
      if (recheckTimer) clearTimeout(recheckTimer);
      raw.end();
    };
    const close = (loss: AccessLoss) => {
      if (ended) return;
      pending.clear();
      raw.write(`event: closed\ndata: ${JSON.stringify(loss)}\n\n`);
      end();
    };
    const schedule = () => {
      const expires = caller.token.expiresAt;
      const untilExpiry = expires === null ? recheckMs : Math.ceil((expires - config.now()) / 1000);
      recheckTimer = setTimeout(recheck, Math.max(0, Math.min(recheckMs, untilExpiry)));
    };
    async function recheck(): Promise<void> {
      if (ended) return;
      // A change that lands while a check reads the store is checked again after it.
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      if (recheckTimer) clearTimeout(recheckTimer);
      try {
        do {
          again = false;
          const loss = await config.auth.accessLost(request.headers.authorization, caller, config.now());
          if (loss) return close(loss);
        } while (again && !ended);
      } catch (error) {
        request.log.warn({ err: error }, "live: could not check the stream's access; trying again later");
      } finally {
        checking = false;
      }
      if (ended) return;
      if (!timer && pending.size > 0) flush();
      schedule();
    }
    const stopAccessWatch = hub.onAccessChange(() => void recheck());
    open.add(shutDown);
    raw.on('close', end);
    schedule();

    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write(`retry: 2000\nevent: ready\ndata: ${JSON.stringify({ workspace: ws })}\n\n`);
    return reply;
  });
}

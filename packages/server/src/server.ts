import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nowMicros } from '@simscope/protocol';
import { startBackgroundWork } from './background-work.js';
import { openBlobStore } from './blob/open-blob-store.js';
import type { BootstrapResult } from './bootstrap.js';
import type { ServerConfig } from './config.js';
import { createApp } from './http/app.js';
import { listenMetrics, ServerMetrics } from './http/metrics.js';
import { hashToken } from './services/auth-service.js';
import { DomainEvents } from './services/domain-events.js';
import { PostgresEventBridge } from './services/event-bridge.js';
import { LEASES, openLeases } from './services/leases.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.js';

export interface StartHooks {
  bootstrapToken?: string | undefined;
  bootstrap(store: Store, now: number, fixedToken?: string): Promise<BootstrapResult>;
  saveLocalProfile(file: string, url: string, token: string): void;
  savedToken(file: string, url: string): string | undefined;
}

/**
 * Opens the store, bootstraps a first user, listens, sweeps lost runs, evaluates alerts, and stops cleanly on
 * SIGINT/SIGTERM. Over PostgreSQL, domain events reach the other server processes through LISTEN/NOTIFY and the
 * work that must run once (lost-run sweep, alert evaluation, notification outbox, blob garbage collection) runs
 * under advisory-lock leases; over SQLite both stay in this process.
 */
export async function startServer(
  config: ServerConfig,
  hooks: StartHooks,
): Promise<{ url: string; close(): Promise<void> }> {
  const store = await openStore(config.db || undefined, config.dataDir);
  const blobs = await openBlobStore(config.blobStore);
  const bus = new DomainEvents({
    onError: (error, event) =>
      app.log.warn({ err: error, event: event.type }, 'a domain event listener failed'),
  });
  let draining = false;
  const leases = openLeases(config.db || undefined, {
    onError: (error) => app.log.warn({ err: error }, 'lease connection failed; retrying'),
    onChange: (name, held) => {
      metrics.leaseHolder.set({ lease: name }, held ? 1 : 0);
      app.log.info({ lease: name, held }, held ? 'lease taken' : 'lease lost');
    },
  });
  const metrics = new ServerMetrics();
  const bridge =
    store.backend === 'postgres'
      ? new PostgresEventBridge({
          url: config.db,
          bus,
          store,
          onError: (error) => app.log.warn({ err: error }, 'event bridge failed; retrying'),
        })
      : undefined;
  const webRoot = fileURLToPath(new URL('../../web/dist/', import.meta.url));
  const app = await createApp({
    store,
    bodyLimit: config.bodyLimit,
    maxScanPoints: config.maxScanPoints,
    logLevel: config.logLevel,
    sinkRoute: config.sinkRoute,
    blobs,
    artifactQuota: config.artifactQuota,
    bus,
    webRoot,
    webhookAllow: config.webhookAllow,
    draining: () => draining,
    metrics,
    rateLimits: config.rateLimits,
    signIn: { oidc: config.oidc },
  });
  await bridge?.start();
  await leases.start();
  for (const name of LEASES) metrics.leaseHolder.set({ lease: name }, leases.holds(name) ? 1 : 0);
  const metricsServer =
    config.metricsPort === null
      ? undefined
      : await listenMetrics(metrics, config.metricsHost, config.metricsPort);
  const first = await hooks.bootstrap(store, nowMicros(), hooks.bootstrapToken);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  const publicUrl = config.publicUrl ?? url;
  const work = startBackgroundWork({ config, store, blobs, bus, leases, metrics, log: app.log, publicUrl });

  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(
    `Simscope ${store.backend === 'sqlite' ? `(SQLite in ${config.dataDir})` : '(PostgreSQL)'} listening on ${url}`,
  );
  let token = first.token;
  if (token) {
    hooks.saveLocalProfile(config.userConfigFile, url, token);
    say(`Created user 'admin' and workspace 'default'; URL and token saved to ${config.userConfigFile}`);
  } else {
    const saved = hooks.savedToken(config.userConfigFile, url);
    if (saved && (await store.identity.findToken(hashToken(saved)))) token = saved;
  }
  if (!existsSync(join(webRoot, 'index.html'))) {
    say(`Web UI not built (no ${join(webRoot, 'index.html')}): run 'npm run build'; serving the API only`);
  }
  if (token) say(`Sign in: ${url}/#token=${token}`);
  say(`API docs: ${url}/api/v1/docs`);

  // Shutdown: /ready turns 503 at once; timers stop; the listener stops accepting, in-flight requests finish (a
  // request arriving on a kept-alive connection meanwhile gets 503, which clients retry), live streams end with a
  // reconnect hint; then the leases go, so another process takes over the work at once.
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      metricsServer?.close();
      await work.stop();
      await app.close();
      await leases.stop();
      await bridge?.stop();
      await blobs.close();
      await store.close();
    })();
    return closing;
  };
  const onSignal = () => {
    const limit = setTimeout(() => {
      process.stderr.write(`simscope: shutdown took over ${config.shutdownTimeout} s; exiting\n`);
      process.exit(1);
    }, config.shutdownTimeout * 1000);
    limit.unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { url, close };
}

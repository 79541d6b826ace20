import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nowMicros } from '@simscope/protocol';
import { openBlobStore } from './blob/open-blob-store.js';
import type { BootstrapResult } from './bootstrap.js';
import type { ServerConfig } from './config.js';
import { createApp, SERVER_VERSION } from './http/app.js';
import { listenMetrics, ServerMetrics } from './http/metrics.js';
import { AlertEngine } from './services/alert-engine.js';
import { ArtifactService } from './services/artifact-service.js';
import { hashToken } from './services/auth-service.js';
import { DomainEvents } from './services/domain-events.js';
import { EmailNotifier } from './services/email-notifier.js';
import { PostgresEventBridge } from './services/event-bridge.js';
import { LEASES, openLeases } from './services/leases.js';
import { applyRetention } from './services/retention.js';
import { LostRunSweeper, runView } from './services/run-service.js';
import { WebhookNotifier } from './services/webhook-notifier.js';
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
  const sweeper = new LostRunSweeper(
    store,
    config.sweepInterval * 1000,
    (runs) => {
      app.log.info({ runs: runs.map((r) => r.id) }, 'runs lost');
      for (const run of runs)
        bus.publish({ type: 'run.changed', workspaceId: run.workspaceId, run: runView(run) });
    },
    leases,
  );
  sweeper.start();
  const publicUrl = config.publicUrl ?? url;
  const alerts = new AlertEngine({
    store,
    intervalMs: config.alertInterval * 1000,
    channels: {
      ...(config.smtp ? { email: new EmailNotifier(config.smtp, publicUrl) } : {}),
      webhook: new WebhookNotifier({
        secret: config.webhookSecret,
        publicUrl,
        userAgent: `simscope/${SERVER_VERSION}`,
        webhookAllow: config.webhookAllow,
      }),
    },
    log: app.log,
    leases,
  });
  alerts.start();
  // Interrupted uploads and crashes can leave bytes behind; an hour of grace spares uploads still arriving.
  const artifactSweeper = new ArtifactService({ blobs });
  const sweepArtifacts = () => {
    if (!leases.holds('blob-gc')) return;
    artifactSweeper
      .sweep(store, { graceMs: 3_600_000 })
      .catch((error) => app.log.warn({ err: error }, 'artifact sweep failed'));
  };
  sweepArtifacts();
  // Every minute a process may have taken the lease; the sweep itself runs at most hourly.
  let lastArtifactSweep = Date.now();
  const artifactTimer = setInterval(() => {
    if (!leases.holds('blob-gc') || Date.now() - lastArtifactSweep < 3_600_000) return;
    lastArtifactSweep = Date.now();
    sweepArtifacts();
  }, 60_000).unref();

  let retentionRunning = false;
  const retentionTimer = setInterval(() => {
    if (!leases.holds('retention') || retentionRunning) return;
    retentionRunning = true;
    applyRetention({ store, now: nowMicros, bus, onRun: (action) => metrics.retentionRuns.inc({ action }) })
      .then(
        (done) => {
          if (done.deleted + done.downsampled > 0) app.log.info(done, 'retention applied');
        },
        (error) => app.log.warn({ err: error }, 'retention failed'),
      )
      .finally(() => {
        retentionRunning = false;
      });
  }, config.retentionInterval * 1000).unref();

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
      sweeper.stop();
      clearInterval(artifactTimer);
      clearInterval(retentionTimer);
      metricsServer?.close();
      await alerts.stop();
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

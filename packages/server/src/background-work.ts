import { nowMicros } from '@simscope/protocol';
import type { BlobStore } from './blob/blob-store.js';
import type { ServerConfig } from './config.js';
import { SERVER_VERSION } from './http/app.js';
import type { ServerMetrics } from './http/metrics.js';
import { AlertEngine, type AlertLog } from './services/alert-engine.js';
import { ArtifactService } from './services/artifact-service.js';
import type { DomainEvents } from './services/domain-events.js';
import { EmailNotifier } from './services/email-notifier.js';
import type { Leases } from './services/leases.js';
import { applyRetention } from './services/retention.js';
import { LostRunSweeper, runView } from './services/run-service.js';
import { WebhookNotifier } from './services/webhook-notifier.js';
import type { Store } from './store/store.js';

/** What the server's periodic work needs: the store and blobs, the leases it runs under, and where it reports. */
export interface BackgroundWorkDeps {
  config: ServerConfig;
  store: Store;
  blobs: BlobStore;
  bus: DomainEvents;
  leases: Leases;
  metrics: ServerMetrics;
  log: AlertLog;
  /** The server's address as users reach it, for links in notifications. */
  publicUrl: string;
}

/**
 * Starts the server's periodic work: the lost-run sweep, alert evaluation and notifications, the hourly sweep of
 * artifact bytes left behind, and retention; each that must run once runs only while this process holds its lease.
 * `stop` ends them all.
 */
export function startBackgroundWork(deps: BackgroundWorkDeps): { stop(): Promise<void> } {
  const { config, store, blobs, bus, leases, metrics, log, publicUrl } = deps;
  const sweeper = new LostRunSweeper(
    store,
    config.sweepInterval * 1000,
    (runs) => {
      log.info({ runs: runs.map((r) => r.id) }, 'runs lost');
      for (const run of runs)
        bus.publish({ type: 'run.changed', workspaceId: run.workspaceId, run: runView(run) });
    },
    leases,
  );
  sweeper.start();
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
    log,
    leases,
  });
  alerts.start();
  // Interrupted uploads and crashes can leave bytes behind; an hour of grace spares uploads still arriving.
  const artifactSweeper = new ArtifactService({ blobs });
  const sweepArtifacts = () => {
    if (!leases.holds('blob-gc')) return;
    artifactSweeper
      .sweep(store, { graceMs: 3_600_000 })
      .catch((error) => log.warn({ err: error }, 'artifact sweep failed'));
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
          if (done.deleted + done.downsampled > 0) log.info(done, 'retention applied');
        },
        (error) => log.warn({ err: error }, 'retention failed'),
      )
      .finally(() => {
        retentionRunning = false;
      });
  }, config.retentionInterval * 1000).unref();

  return {
    async stop() {
      sweeper.stop();
      clearInterval(artifactTimer);
      clearInterval(retentionTimer);
      await alerts.stop();
    },
  };
}

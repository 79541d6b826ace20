import type { Json, RunStatus } from '@simscope/protocol';
import type { QueuedEvent, SenderSpool } from './batch-sender.js';
import type { ResolvedConnection } from './config.js';
import { ClientError } from './errors.js';
import type { CloseResult, RunConfig } from './run-options.js';
import { spoolDirectory } from './spool.js';

/** What `init` reports when the server cannot be reached and the run starts in the spool. */
export function spooledNotice(error: unknown, id: string): ClientError {
  const message = `server unreachable (${(error as Error).message}); run ${id} is spooled until it is back`;
  return new ClientError('unavailable', message, 0, { cause: error });
}

/** What `close` says of a run that never started sending (init failed or was not called). */
export function closedUnstarted(
  status: RunStatus | null,
  dropped: number,
  droppedEvents: number,
): CloseResult {
  return {
    status,
    sentPoints: 0,
    sentEvents: 0,
    droppedPoints: dropped,
    droppedEvents,
    failedPoints: 0,
    failedEvents: 0,
    spooledPoints: 0,
    spooledEvents: 0,
  };
}

/** The warning events a run logs as it closes when its queues dropped points or events (none when nothing was). */
export function droppedWarnings(
  dropped: number,
  droppedEvents: number,
  queueSize: number,
  timestamp: number,
): QueuedEvent[] {
  const out: QueuedEvent[] = [];
  if (dropped > 0) {
    out.push({
      message: `simscope: ${dropped} metric points were dropped because the queue was full (queueSize ${queueSize})`,
      level: 'warning',
      timestamp,
    });
  }
  if (droppedEvents > 0) {
    out.push({
      message: `simscope: ${droppedEvents} events were dropped because the event queue was full (queueSize ${queueSize})`,
      level: 'warning',
      timestamp,
    });
  }
  return out;
}

/** This machine's description for a new run, or undefined where it cannot be collected. */
export async function systemInfo(): Promise<Record<string, Json> | undefined> {
  try {
    const { collectSystemInfo } = await import('./system-info.js');
    return (await collectSystemInfo()) as unknown as Record<string, Json>;
  } catch {
    return undefined;
  }
}

/** Where a run's sender spools, and the spool's description of the run (`offline`: created while offline). */
export function spoolFor(
  config: RunConfig,
  runId: string,
  connection: ResolvedConnection,
  offline: boolean,
  createdAt: number,
): SenderSpool {
  return {
    root: spoolDirectory(config.spoolDir),
    offline: config.mode === 'offline',
    meta: {
      version: 1,
      runId,
      url: connection.url,
      workspace: connection.workspace ?? null,
      offline,
      createdAt,
    },
  };
}

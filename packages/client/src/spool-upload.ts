import { Unpackr } from 'msgpackr';
import { stampClock } from './batch-clock.js';
import { ClientError } from './errors.js';
import type { HttpTransport, RequestOptions } from './http-transport.js';
import {
  listSpools,
  retireSpool,
  type SpoolMeta,
  type SpoolRecord,
  spoolHolder,
  spoolRecords,
  sweepRetired,
} from './spool.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const decoder = new TextDecoder();

/** Errors worth trying again later: the server was unreachable, overloaded or failing. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof ClientError)) return false;
  return error.status === 0 || error.status === 429 || error.status >= 500;
}

/** Points and events a record carries. */
function recordCounts(record: SpoolRecord): { points: number; events: number } {
  if (record.kind === 'metrics') {
    const batch = unpackr.unpack(record.body) as { series: { values: Uint8Array }[] };
    let points = 0;
    for (const s of batch.series) points += s.values.byteLength / 8;
    return { points, events: 0 };
  }
  if (record.kind === 'events') {
    return {
      points: 0,
      events: (JSON.parse(decoder.decode(record.body)) as { events: unknown[] }).events.length,
    };
  }
  return { points: 0, events: 0 };
}

/**
 * Sends one spooled record. Every kind is safe to send twice: the run is created under its own id, batches
 * carry (writer, seq), and patches set values. With `clock` (a live batch, never a spooled one), each try of a
 * metric or event batch says when it was sent, so that the server can measure this host's clock.
 */
export async function sendRecord(
  transport: HttpTransport,
  runId: string,
  record: Pick<SpoolRecord, 'kind' | 'body'>,
  options: Pick<RequestOptions, 'retries' | 'retryNetworkErrors'> & { clock?: () => number } = {},
): Promise<unknown> {
  const { clock, ...rest } = options;
  const base = { idempotent: true, ...rest };
  if (record.kind === 'metrics') {
    const body = record.body;
    return transport.call('ingestMetrics', {
      ...base,
      params: { run: runId },
      msgpack: body,
      ...(clock ? { beforeTry: () => stampClock(body, clock()) } : {}),
    });
  }
  const json = JSON.parse(decoder.decode(record.body)) as Record<string, unknown>;
  switch (record.kind) {
    case 'create':
      return transport.call('createRun', { ...base, body: json });
    case 'events':
      return transport.call('ingestEvents', {
        ...base,
        params: { run: runId },
        body: json,
        ...(clock ? { beforeTry: () => (json.clock = clock()) } : {}),
      });
    case 'patch':
      return transport.call('updateRun', { ...base, params: { run: runId }, body: json });
    case 'folder':
      return transport.call('createFolder', { ...base, body: json });
  }
}

/** What `sync` did with one spooled run. */
export interface SyncedRun {
  runId: string;
  /** `synced`: every record is on the server and the spool is gone; `skipped`: see `reason`; `failed`: kept. */
  outcome: 'synced' | 'skipped' | 'failed';
  points: number;
  events: number;
  /** Records the server refused for good (a 4xx): reported, not retried. */
  refused: number;
  /** Bytes of a record cut short by a crash, left out. */
  torn: number;
  reason?: string;
}

export interface SyncOptions {
  /** Also upload spools whose lock names a process that may still be running (on another host). */
  force?: boolean;
  onProgress?(progress: { run: string; runsDone: number; runsTotal: number; points: number }): void;
}

/** Uploads every spool under `root` that belongs to `url`, and retires each one that got through. */
export async function syncSpools(
  transport: HttpTransport,
  root: string,
  url: string,
  options: SyncOptions = {},
): Promise<SyncedRun[]> {
  sweepRetired(root);
  const spools = listSpools(root);
  const results: SyncedRun[] = [];
  for (const [i, { dir, meta }] of spools.entries()) {
    const result = await syncOne(transport, dir, meta, url, options);
    results.push(result);
    options.onProgress?.({
      run: meta.runId,
      runsDone: i + 1,
      runsTotal: spools.length,
      points: result.points,
    });
  }
  return results;
}

async function syncOne(
  transport: HttpTransport,
  dir: string,
  meta: SpoolMeta,
  url: string,
  options: SyncOptions,
): Promise<SyncedRun> {
  const result: SyncedRun = {
    runId: meta.runId,
    outcome: 'synced',
    points: 0,
    events: 0,
    refused: 0,
    torn: 0,
  };
  if (meta.url !== url) {
    return { ...result, outcome: 'skipped', reason: `belongs to ${meta.url}` };
  }
  const holder = spoolHolder(dir);
  if (holder && !options.force) {
    return {
      ...result,
      outcome: 'skipped',
      reason: `still written by process ${holder.pid} on ${holder.host} (force to upload anyway)`,
    };
  }
  const tail = { torn: 0 };
  for (const record of spoolRecords(dir, 0, tail)) {
    try {
      await sendRecord(transport, meta.runId, record);
      const counts = recordCounts(record);
      result.points += counts.points;
      result.events += counts.events;
    } catch (error) {
      // Without its run on the server, nothing after a refused create could land: keep it all.
      if (isTransient(error) || record.kind === 'create') {
        return { ...result, outcome: 'failed', reason: (error as Error).message };
      }
      result.refused++;
      result.reason = (error as Error).message;
    }
  }
  result.torn = tail.torn;
  retireSpool(dir);
  return result;
}

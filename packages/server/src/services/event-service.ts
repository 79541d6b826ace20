import { type EventLevel, type EventView, type eventBatchSchema, microsToIso } from '@simscope/protocol';
import type { z } from 'zod';
import type { EventRecord, RunRecord } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, pageOf } from './cursor.js';
import { checkNotFuture, WriterClocks } from './writer-clocks.js';

/** `GET /runs/:run/events`, as the route's query schema gives it. */
export interface EventListQuery {
  q: string | null;
  level: EventLevel[] | null;
  from: number | null;
  to: number | null;
  order: boolean;
  limit: number;
  next?: string;
}

/** An event; with its segment number once the run has restarted (a run that never did has only segment 1). */
function view(e: EventRecord, segments: boolean): EventView {
  const base = { timestamp: e.timestamp, time: microsToIso(e.timestamp), level: e.level, message: e.message };
  return segments ? { ...base, segment: e.segment } : base;
}

/** Event ingest and listing with text search, level and time filters. */
export class EventService {
  readonly #clocks: WriterClocks;

  constructor(clocks: WriterClocks = new WriterClocks()) {
    this.#clocks = clocks;
  }

  /** Stores a batch once, explicit timestamps shifted by its writer's clock offset. */
  async ingest(
    ctx: ServiceContext,
    run: RunRecord,
    body: z.output<typeof eventBatchSchema>,
  ): Promise<{ stored: boolean; events: number }> {
    const batch = body;
    const offset = await this.#clocks.offset(ctx, run, batch.writer, batch.clock ?? null);
    const now = ctx.now();
    const events = batch.events.map((e, i) => {
      if (e.timestamp === undefined) return { timestamp: now, level: e.level ?? 'info', message: e.message };
      const timestamp = e.timestamp + offset;
      checkNotFuture(timestamp, now, `body.events[${i}].timestamp`);
      return { timestamp, level: e.level ?? 'info', message: e.message };
    });
    const stored = await ctx.store.events.appendEvents(run.pk, batch, events, run.segment);
    if (stored) {
      ctx.bus.publish({
        type: 'events.appended',
        workspaceId: run.workspaceId,
        runId: run.id,
        events: events.length,
      });
    }
    return { stored, events: stored ? events.length : 0 };
  }

  async list(
    ctx: ServiceContext,
    run: RunRecord,
    query: EventListQuery,
  ): Promise<{ items: EventView[]; next: string | null }> {
    const { limit, order: descending } = query;
    let after: { timestamp: number; pk: number } | null = null;
    if (query.next) {
      const [timestamp, pk] = decodeCursor(query.next, ['integer', 'integer']);
      after = { timestamp, pk };
    }
    const rows = await ctx.store.events.listEvents(run.pk, {
      search: query.q,
      levels: query.level,
      from: query.from,
      to: query.to,
      after,
      limit: limit + 1,
      descending,
    });
    const segments = run.segment > 1;
    return pageOf(
      rows,
      limit,
      (e) => view(e, segments),
      (last) => [last.timestamp, last.pk],
    );
  }
}

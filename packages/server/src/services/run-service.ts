import {
  type abortSchema,
  LIMITS,
  parseFilter,
  type RunSortField,
  type RunStatus,
  type RunView,
  type runCreateSchema,
  type runUpdateSchema,
  SimscopeError,
} from '@simscope/protocol';
import type { z } from 'zod';
import type { JsonObject, RunChanges, RunRecord, Store } from '../store/store.js';
import { newId } from './auth-service.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, pageOf } from './cursor.js';
import { InvalidTransitionError, NotFoundError } from './errors.js';
import type { Leases } from './leases.js';
import { generateRunName } from './run-names.js';
import { checkNotFuture } from './writer-clocks.js';

/** Which status may follow which; a status may always be set again to itself. */
const RUN_TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  created: ['running', 'completed', 'failed', 'terminated'],
  running: ['completed', 'failed', 'terminated', 'lost'],
  lost: ['running', 'completed', 'failed', 'terminated'],
  completed: [],
  failed: [],
  terminated: [],
};

const FINAL = new Set<RunStatus>(['completed', 'failed', 'terminated']);

export function runView(run: RunRecord): RunView {
  return {
    id: run.id,
    name: run.name,
    folder: run.folder,
    user: run.userName,
    description: run.description,
    tags: run.tags,
    metadata: run.metadata,
    system: run.system,
    status: run.status,
    created: run.createdAt,
    started: run.startedAt,
    ended: run.endedAt,
    heartbeat: run.heartbeatAt,
    heartbeatTimeout: run.heartbeatTimeout,
    abort: { requested: run.abortAt !== null, at: run.abortAt, reason: run.abortReason },
  };
}

/** Merges a metadata patch: keys set to null are removed. */
export function mergeMetadata(base: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  if (JSON.stringify(out).length > LIMITS.metadataBytes) {
    throw new SimscopeError(
      'invalid_field',
      `body.metadata: merged metadata would exceed ${LIMITS.metadataBytes} bytes`,
    );
  }
  return out;
}

function uniqueTags(tags: readonly string[]): string[] {
  return [...new Set(tags)];
}

/** `GET /runs` (and `POST /runs/search`), as the route's query schema gives it. */
export interface RunListParams {
  filter?: string;
  sort: { field: RunSortField; descending: boolean };
  limit: number;
  next?: string;
}

function sortKey(run: RunRecord, field: RunSortField): string | number {
  switch (field) {
    case 'created':
      return run.createdAt;
    case 'started':
      return run.startedAt ?? -1;
    case 'ended':
      return run.endedAt ?? -1;
    case 'heartbeat':
      return run.heartbeatAt ?? -1;
    case 'name':
      return run.name;
    case 'status':
      return run.status;
  }
}

/** Creates, reads, lists, changes and deletes runs; owns status transitions, heartbeats and aborts. */
export class RunService {
  async create(ctx: ServiceContext, body: z.output<typeof runCreateSchema>): Promise<RunView> {
    const input = body;
    if (input.id !== undefined) {
      const existing = await ctx.store.runs.getRun(ctx.auth.workspace.id, input.id);
      if (existing?.id === input.id) return runView(existing);
    }
    const now = ctx.now();
    if (input.createdAt !== undefined) checkNotFuture(input.createdAt, now, 'body.createdAt');
    const createdAt = input.createdAt ?? now;
    const status = input.status ?? 'running';
    for (let attempt = 0; ; attempt++) {
      const name = input.name ?? generateRunName(attempt);
      try {
        const run = await ctx.store.runs.createRun({
          id: input.id ?? newId(),
          workspaceId: ctx.auth.workspace.id,
          name,
          folder: input.folder ?? '/',
          userId: ctx.auth.user.id,
          description: input.description ?? null,
          tags: uniqueTags(input.tags ?? []),
          metadata: (input.metadata ?? {}) as JsonObject,
          system: (input.system ?? {}) as JsonObject,
          status,
          createdAt,
          startedAt: status === 'running' ? createdAt : null,
          heartbeatAt: status === 'running' ? now : null,
          heartbeatTimeout: input.heartbeatTimeout ?? null,
        });
        const view = runView(run);
        ctx.bus.publish({ type: 'run.changed', workspaceId: run.workspaceId, run: view });
        return view;
      } catch (error) {
        if (
          input.name === undefined &&
          error instanceof SimscopeError &&
          error.code === 'conflict' &&
          attempt < 20
        ) {
          continue;
        }
        throw error;
      }
    }
  }

  /** The run with this id or name in the caller's workspace, or a `not_found` error. */
  async find(ctx: ServiceContext, idOrName: string): Promise<RunRecord> {
    const run = await ctx.store.runs.getRun(ctx.auth.workspace.id, idOrName);
    if (!run) throw new NotFoundError('run', idOrName);
    return run;
  }

  async get(ctx: ServiceContext, idOrName: string): Promise<RunView> {
    return runView(await this.find(ctx, idOrName));
  }

  async list(ctx: ServiceContext, params: RunListParams): Promise<{ items: RunView[]; next: string | null }> {
    const where = params.filter ? parseFilter(params.filter) : null;
    const { field, descending } = params.sort;
    const { limit } = params;
    let after: { key: string | number | null; pk: number } | null = null;
    if (params.next) {
      const keyType = field === 'name' || field === 'status' ? 'string' : 'integer';
      const [key, pk, sortName] = decodeCursor(params.next, [keyType, 'integer', 'string']);
      if (sortName !== `${descending ? '-' : ''}${field}`) {
        throw new SimscopeError(
          'invalid_cursor',
          'query.next: this cursor belongs to a listing with another sort',
        );
      }
      after = { key, pk };
    }
    const rows = await ctx.store.runs.listRuns(ctx.auth.workspace.id, {
      where,
      sort: field,
      descending,
      after,
      limit: limit + 1,
      now: ctx.now(),
    });
    return pageOf(rows, limit, runView, (last) => [
      sortKey(last, field),
      last.pk,
      `${descending ? '-' : ''}${field}`,
    ]);
  }

  async update(
    ctx: ServiceContext,
    idOrName: string,
    body: z.output<typeof runUpdateSchema>,
  ): Promise<RunView> {
    const input = body;
    const run = await this.find(ctx, idOrName);
    const now = ctx.now();
    const changes: RunChanges = {};
    if (input.name !== undefined) changes.name = input.name;
    if (input.folder !== undefined) changes.folder = input.folder;
    if (input.description !== undefined) changes.description = input.description;
    if (input.heartbeatTimeout !== undefined) changes.heartbeatTimeout = input.heartbeatTimeout;
    if (input.tags !== undefined || input.addTags !== undefined || input.removeTags !== undefined) {
      const removed = new Set(input.removeTags ?? []);
      const tags = uniqueTags([...(input.tags ?? run.tags), ...(input.addTags ?? [])]).filter(
        (t) => !removed.has(t),
      );
      if (tags.length > LIMITS.tagsPerRun) {
        throw new SimscopeError('invalid_field', `body.tags: a run has at most ${LIMITS.tagsPerRun} tags`);
      }
      changes.tags = tags;
    }
    if (input.metadata !== undefined)
      changes.metadata = mergeMetadata(run.metadata, input.metadata as JsonObject);
    if (input.system !== undefined) changes.system = mergeMetadata(run.system, input.system as JsonObject);
    if (input.status !== undefined && input.status !== run.status) {
      Object.assign(changes, this.#transition(run, input.status, input.statusAt ?? now));
    }
    const view = runView(await ctx.store.runs.updateRun(ctx.auth.workspace.id, run.pk, changes, now));
    ctx.bus.publish({ type: 'run.changed', workspaceId: ctx.auth.workspace.id, run: view });
    return view;
  }

  #transition(run: RunRecord, to: RunStatus, now: number): RunChanges {
    if (!RUN_TRANSITIONS[run.status].includes(to)) {
      const allowed = RUN_TRANSITIONS[run.status];
      throw new InvalidTransitionError(
        `body.status: a ${run.status} run cannot become ${to}${allowed.length ? `; it can become ${allowed.join(', ')}` : '; it has ended'}`,
        { details: { field: 'status', from: run.status, to } },
      );
    }
    const changes: RunChanges = { status: to };
    if (to === 'running') {
      if (run.startedAt === null) changes.startedAt = now;
      changes.heartbeatAt = now;
    }
    if (FINAL.has(to)) changes.endedAt = now;
    return changes;
  }

  async delete(ctx: ServiceContext, idOrName: string): Promise<void> {
    const run = await this.find(ctx, idOrName);
    if (await ctx.store.runs.deleteRun(ctx.auth.workspace.id, run.pk)) {
      ctx.bus.publish({ type: 'run.deleted', workspaceId: ctx.auth.workspace.id, runId: run.id });
    }
  }

  /**
   * Records that the run is alive. A `lost` run that beats again is running again (it was only out of touch);
   * an ended run cannot beat. Returns the abort request so clients poll both at once.
   */
  async heartbeat(
    ctx: ServiceContext,
    idOrName: string,
  ): Promise<{ status: RunStatus; abort: RunView['abort'] }> {
    const run = await this.find(ctx, idOrName);
    if (FINAL.has(run.status)) {
      throw new InvalidTransitionError(`run '${run.name}' has ended (${run.status}) and takes no heartbeats`);
    }
    const now = ctx.now();
    const changes: RunChanges = { heartbeatAt: now };
    if (run.status !== 'running') Object.assign(changes, this.#transition(run, 'running', now));
    const updated = await ctx.store.runs.updateRun(ctx.auth.workspace.id, run.pk, changes, now);
    const view = runView(updated);
    ctx.bus.publish({ type: 'run.changed', workspaceId: ctx.auth.workspace.id, run: view });
    return { status: updated.status, abort: view.abort };
  }

  async requestAbort(
    ctx: ServiceContext,
    idOrName: string,
    body: z.output<typeof abortSchema>,
  ): Promise<RunView['abort']> {
    const input = body;
    const run = await this.find(ctx, idOrName);
    if (FINAL.has(run.status)) {
      throw new InvalidTransitionError(`run '${run.name}' has already ended (${run.status})`);
    }
    const updated = await ctx.store.runs.updateRun(
      ctx.auth.workspace.id,
      run.pk,
      { abortAt: run.abortAt ?? ctx.now(), abortReason: input.reason ?? run.abortReason },
      ctx.now(),
    );
    const view = runView(updated);
    ctx.bus.publish({ type: 'run.changed', workspaceId: ctx.auth.workspace.id, run: view });
    return view.abort;
  }

  async readAbort(ctx: ServiceContext, idOrName: string): Promise<RunView['abort']> {
    return runView(await this.find(ctx, idOrName)).abort;
  }
}

/** Marks runs whose heartbeat stopped as `lost`, on a timer; one per process (a lease across processes later). */
export class LostRunSweeper {
  readonly #store: Store;
  readonly #interval: number;
  readonly #onLost: (runs: RunRecord[]) => void;
  readonly #leases: Pick<Leases, 'holds'>;
  #timer: NodeJS.Timeout | undefined;

  /** With `leases`, the timer sweeps only while this process holds `lost-runs` (one sweeper among servers). */
  constructor(
    store: Store,
    intervalMs: number,
    onLost: (runs: RunRecord[]) => void = () => {},
    leases: Pick<Leases, 'holds'> = { holds: () => true },
  ) {
    this.#store = store;
    this.#interval = intervalMs;
    this.#onLost = onLost;
    this.#leases = leases;
  }

  /** One sweep; returns the runs it marked. */
  async sweep(now = Date.now() * 1000): Promise<RunRecord[]> {
    const lost = await this.#store.runs.markLostRuns(now);
    if (lost.length > 0) this.#onLost(lost);
    return lost;
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      if (this.#leases.holds('lost-runs')) this.sweep().catch(() => undefined);
    }, this.#interval);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

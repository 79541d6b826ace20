import { randomBytes } from 'node:crypto';
import {
  type Json,
  type JsonObject,
  type RouteInput,
  SimscopeError,
  servicePathProblem,
  TELEMETRY_LIMITS,
  TELEMETRY_RECORD_FIELDS,
  type TelemetryBatchInput,
  type TelemetryKeyView,
  type TelemetryRecordView,
  type TelemetryServiceView,
  type TelemetryUsageView,
  type telemetryKeyCreateSchema,
  telemetryServiceName,
} from '@simscope/protocol';
import type { z } from 'zod';
import type { Store, WorkspaceRecord } from '../store/store.js';
import type {
  NewTelemetryRecord,
  TelemetryKeyListRecord,
  TelemetryKeyRecord,
  TelemetryServiceRecord,
} from '../store/telemetry-store.js';
import { hashToken, newId } from './auth-service.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, pageOf } from './cursor.js';
import { NotFoundError } from './errors.js';

const CACHE_MS = 5_000;
const CACHE_MAX = 10_000;
const OWN_FIELDS = new Set<string>(TELEMETRY_RECORD_FIELDS);
/** Bucket widths (seconds) the usage query picks from when none is asked for. */
const NICE_BUCKETS = [60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400, 30 * 86_400];
const AUTO_BUCKETS = 200;
const DEFAULT_SPAN = 7 * 86_400 * 1e6;

/** A new ingest-only key secret; only its hash is stored. */
function newTelemetryKey(): string {
  return `stk_${randomBytes(32).toString('base64url')}`;
}

/** Who may write to which service: what an ingest request proves with its key. */
export interface TelemetryCaller {
  key: TelemetryKeyRecord;
  service: TelemetryServiceRecord;
}

export interface TelemetryDeps {
  store: Store;
  now(): number;
}

/** The query of `GET /telemetry/records`, as the route's schema gives it. */
export type TelemetryRecordQuery = RouteInput<'telemetryRecords'>['query'];

/** The query of `GET /telemetry/usage`, as the route's schema gives it. */
export type TelemetryUsageQuery = RouteInput<'telemetryUsage'>['query'];

function keyView(k: TelemetryKeyListRecord): TelemetryKeyView {
  return {
    id: k.id,
    service: k.servicePath,
    workspace: k.workspaceName,
    name: k.name,
    created: k.createdAt,
    expires: k.expiresAt,
    revoked: k.revokedAt,
  };
}

/**
 * Usage telemetry: ingest-only keys per service (admin), batched ingest authenticated by such a key, and the
 * listing and per-function aggregation a chart reads (workspace members).
 */
export class TelemetryService {
  readonly #deps: TelemetryDeps;
  readonly #cache = new Map<string, TelemetryCaller & { until: number }>();

  constructor(deps: TelemetryDeps) {
    this.#deps = deps;
  }

  get #store() {
    return this.#deps.store.telemetry;
  }

  // Keys (admin)

  /** Creates a key for a service (created with it) and returns it with its secret, which is never shown again. */
  async createKey(
    adminWorkspace: WorkspaceRecord | null,
    body: z.output<typeof telemetryKeyCreateSchema>,
  ): Promise<TelemetryKeyView & { key: string }> {
    const input = body;
    let workspace = adminWorkspace;
    if (input.workspace !== undefined) {
      workspace = (await this.#deps.store.identity.getWorkspace(input.workspace)) ?? null;
      if (!workspace) {
        throw new NotFoundError('workspace', input.workspace, 'not found', {
          details: { field: 'body.workspace' },
        });
      }
    }
    if (!workspace) {
      throw new SimscopeError(
        'invalid_field',
        'body.workspace: required, as you are not a member of any workspace',
      );
    }
    const now = this.#deps.now();
    const service = await this.#store.ensureService(workspace.id, input.service, now);
    const record: TelemetryKeyRecord = {
      id: newId(),
      servicePk: service.pk,
      name: input.name,
      createdAt: now,
      expiresAt: input.expiresIn ? Math.round(now + input.expiresIn * 1e6) : null,
      revokedAt: null,
    };
    const secret = newTelemetryKey();
    await this.#store.createKey(record, hashToken(secret));
    return {
      ...keyView({
        ...record,
        servicePath: service.path,
        workspaceId: workspace.id,
        workspaceName: workspace.name,
      }),
      key: secret,
    };
  }

  async listKeys(service: string | undefined): Promise<TelemetryKeyView[]> {
    return (await this.#store.listKeys(service || null)).map(keyView);
  }

  async revokeKey(id: string): Promise<void> {
    if (!(await this.#store.revokeKey(id, this.#deps.now()))) {
      throw new NotFoundError('telemetry key', id, 'not found or already revoked');
    }
    this.#cache.clear();
  }

  // Ingest (a telemetry key)

  /** Checks that `authorization` carries a live telemetry key for the service at `path`. */
  async authenticate(authorization: string | undefined, path: string): Promise<TelemetryCaller> {
    const problem = servicePathProblem(path);
    if (problem) {
      throw new SimscopeError('invalid_field', `path.service: ${problem}`, {
        details: { field: 'path.service' },
      });
    }
    if (!authorization) {
      throw new SimscopeError(
        'unauthorized',
        "missing telemetry key: send the header 'Authorization: Bearer <key>'",
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) {
      throw new SimscopeError('unauthorized', "malformed Authorization header: expected 'Bearer <key>'");
    }
    const found = await this.#lookup(hashToken(match[1] ?? ''));
    if (!found) throw new SimscopeError('unauthorized', 'invalid telemetry key');
    const { key, service } = found;
    if (key.revokedAt !== null) {
      throw new SimscopeError('unauthorized', `telemetry key '${key.name}' has been revoked`);
    }
    if (key.expiresAt !== null && key.expiresAt <= this.#deps.now()) {
      throw new SimscopeError('unauthorized', `telemetry key '${key.name}' has expired`);
    }
    if (service.path !== path) {
      throw new SimscopeError(
        'forbidden',
        `telemetry key '${key.name}' may write to service '${service.path}' only, not '${path}'`,
        { details: { field: 'path.service' } },
      );
    }
    return found;
  }

  async #lookup(hash: string): Promise<TelemetryCaller | undefined> {
    const now = Date.now();
    const hit = this.#cache.get(hash);
    if (hit && hit.until > now) return hit;
    const found = await this.#store.findKey(hash);
    if (!found) return undefined;
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    const entry = { ...found, until: now + CACHE_MS };
    this.#cache.set(hash, entry);
    return entry;
  }

  /** Stores a batch of records once per (writer, seq). */
  async ingest(
    caller: TelemetryCaller,
    batch: TelemetryBatchInput,
  ): Promise<{ stored: boolean; records: number }> {
    const now = this.#deps.now();
    const records: NewTelemetryRecord[] = batch.records.map((r) => {
      const extra: JsonObject = {};
      for (const [field, value] of Object.entries(r)) {
        if (!OWN_FIELDS.has(field) && value !== undefined) extra[field] = value as Json;
      }
      return {
        timestamp: r.timestamp ?? now,
        function: r.function,
        sessionId: r.session_id ?? null,
        args: (r.args ?? []) as Json[],
        kwargs: (r.kwargs ?? {}) as JsonObject,
        extra,
      };
    });
    const stored = await this.#store.appendRecords(
      caller.service.pk,
      { writer: batch.writer, seq: batch.seq },
      records,
    );
    return { stored, records: stored ? records.length : 0 };
  }

  // Reads (workspace members)

  async #service(ctx: ServiceContext, path: string): Promise<TelemetryServiceRecord> {
    const service = await this.#store.getService(ctx.auth.workspace.id, path);
    if (!service) {
      throw new NotFoundError('telemetry service', path, 'not found in this workspace', {
        details: { field: 'query.service' },
      });
    }
    return service;
  }

  async services(ctx: ServiceContext): Promise<TelemetryServiceView[]> {
    return (await this.#store.listServices(ctx.auth.workspace.id)).map((s) => ({
      path: s.path,
      name: telemetryServiceName(s.path),
      records: s.records,
      first: s.first,
      last: s.last,
      created: s.createdAt,
    }));
  }

  async records(
    ctx: ServiceContext,
    query: TelemetryRecordQuery,
  ): Promise<{ items: TelemetryRecordView[]; next: string | null }> {
    const service = await this.#service(ctx, query.service);
    const { limit } = query;
    let after: { timestamp: number; pk: number } | null = null;
    if (query.next) {
      const [timestamp, pk] = decodeCursor(query.next, ['integer', 'integer']);
      after = { timestamp, pk };
    }
    const rows = await this.#store.listRecords(service.pk, {
      functions: query.function,
      sessionId: query.session,
      from: query.from,
      to: query.to,
      after,
      limit: limit + 1,
      descending: query.order,
    });
    return pageOf(
      rows,
      limit,
      (r) => ({
        id: r.pk,
        timestamp: r.timestamp,
        function: r.function,
        args: r.args,
        kwargs: r.kwargs,
        ...(r.sessionId === null ? {} : { session_id: r.sessionId }),
        ...r.extra,
      }),
      (last) => [last.timestamp, last.pk],
    );
  }

  /** Calls per function in equal buckets over [from, to), bucket edges aligned to multiples of the width. */
  async usage(ctx: ServiceContext, query: TelemetryUsageQuery): Promise<TelemetryUsageView> {
    const service = await this.#service(ctx, query.service);
    const to = query.to ?? this.#deps.now();
    const from = query.from ?? to - DEFAULT_SPAN;
    if (from >= to) {
      throw new SimscopeError('invalid_field', `query.from: must be before query.to (${from} >= ${to})`);
    }
    let seconds = query.bucket;
    if (seconds === null) {
      const span = (to - from) / 1e6;
      seconds =
        NICE_BUCKETS.find((b) => span / b <= AUTO_BUCKETS) ??
        Math.ceil(span / AUTO_BUCKETS / 86_400) * 86_400;
    }
    const width = seconds * 1e6;
    const start = Math.floor(from / width) * width;
    const end = Math.ceil(to / width) * width;
    const count = (end - start) / width;
    if (count > TELEMETRY_LIMITS.usageBuckets) {
      throw new SimscopeError(
        'invalid_field',
        `query.bucket: ${count} buckets of ${seconds} s between from and to; at most ${TELEMETRY_LIMITS.usageBuckets}`,
      );
    }
    const rows = await this.#store.usage(service.pk, {
      from: start,
      to: end,
      bucket: width,
      functions: query.function,
    });
    const byFunction = new Map<string, { function: string; total: number; counts: number[] }>();
    for (const row of rows) {
      let entry = byFunction.get(row.function);
      if (!entry) {
        entry = { function: row.function, total: 0, counts: new Array<number>(count).fill(0) };
        byFunction.set(row.function, entry);
      }
      entry.counts[row.bucket] = row.count;
      entry.total += row.count;
    }
    return {
      service: service.path,
      from: start,
      to: end,
      bucket: seconds,
      times: Array.from({ length: count }, (_, i) => start + i * width),
      functions: [...byFunction.values()].sort(
        (a, b) => b.total - a.total || a.function.localeCompare(b.function),
      ),
    };
  }
}

import { createServer, type Server } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DomainEvents } from '../services/domain-events.js';

/** How busy the database's connections are: a PostgreSQL pool, or SQLite's queue of write transactions. */
interface DatabaseUsage {
  /** Connections open (PostgreSQL) or 1 (SQLite's one connection). */
  open: number;
  /** Connections open and idle. */
  idle: number;
  /** Callers waiting for a connection (PostgreSQL) or for the write lock (SQLite). */
  waiting: number;
}

/** What the server's gauges read when scraped; each is optional (absent: the gauge stays at 0). */
export interface MetricSources {
  liveConnections?: () => number;
  database?: () => DatabaseUsage | null;
}

/** Upper bounds (seconds) of the request latency histogram. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Upper bounds (points or events) of the batch size histogram. */
const BATCH_BUCKETS = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

/**
 * The Prometheus metrics of one server process, in a registry of its own (no module-level state, so several apps
 * in one process, as in tests, do not share counters). Gauges read their sources when scraped; counters are bumped
 * by the request hooks and by domain events, so a scrape costs a walk over a few dozen series.
 *
 * @example
 * const metrics = new ServerMetrics();
 * metrics.leaseHolder.set({ lease: 'lost-runs' }, 1); // this process holds the lease
 * const text = await metrics.registry.metrics();
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly latency: Histogram<'method' | 'route'>;
  readonly pointsIngested: Counter;
  readonly eventsIngested: Counter;
  readonly batchSize: Histogram<'kind'>;
  readonly liveConnections: Gauge;
  /** 1 while this process holds the named lease, 0 when another does (set by whoever takes leases). */
  readonly leaseHolder: Gauge<'lease'>;
  readonly dbConnections: Gauge<'state'>;
  readonly dbWaiting: Gauge;
  readonly rateLimited: Counter<'limit'>;
  readonly retentionRuns: Counter<'action'>;
  #sources: MetricSources = {};

  constructor() {
    const registers = [this.registry];
    // The defaults include nodejs_eventloop_lag_seconds and the event loop delay percentiles.
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'simscope_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'simscope_http_request_duration_seconds',
      help: 'Time from the request to the end of its answer, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.pointsIngested = new Counter({
      name: 'simscope_points_ingested_total',
      help: 'Metric points stored (replayed batches not counted)',
      registers,
    });
    this.eventsIngested = new Counter({
      name: 'simscope_events_ingested_total',
      help: 'Events stored (replayed batches not counted)',
      registers,
    });
    this.batchSize = new Histogram({
      name: 'simscope_ingest_batch_size',
      help: 'Points (kind=metrics) or events (kind=events) per stored batch',
      labelNames: ['kind'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    const sources = () => this.#sources;
    this.liveConnections = new Gauge({
      name: 'simscope_live_connections',
      help: 'Open live streams (server-sent events) of this process',
      registers,
      collect() {
        this.set(sources().liveConnections?.() ?? 0);
      },
    });
    this.leaseHolder = new Gauge({
      name: 'simscope_lease_holder',
      help: '1 while this process holds the lease, 0 otherwise',
      labelNames: ['lease'],
      registers,
    });
    this.dbConnections = new Gauge({
      name: 'simscope_db_connections',
      help: 'Database connections of this process, by state (open, idle)',
      labelNames: ['state'],
      registers,
      collect() {
        const usage = sources().database?.();
        this.set({ state: 'open' }, usage?.open ?? 0);
        this.set({ state: 'idle' }, usage?.idle ?? 0);
      },
    });
    this.dbWaiting = new Gauge({
      name: 'simscope_db_queue_waiting',
      help: 'Callers waiting for a database connection (PostgreSQL) or the write lock (SQLite)',
      registers,
      collect() {
        this.set(sources().database?.()?.waiting ?? 0);
      },
    });
    this.rateLimited = new Counter({
      name: 'simscope_rate_limited_total',
      help: 'Requests answered 429 rate_limited, by the limit they hit',
      labelNames: ['limit'],
      registers,
    });
    this.retentionRuns = new Counter({
      name: 'simscope_retention_runs_total',
      help: 'Runs deleted or downsampled by retention rules',
      labelNames: ['action'],
      registers,
    });
  }

  /** Where the gauges read from; set once the app has its live hub and store. */
  setSources(sources: MetricSources): void {
    this.#sources = sources;
  }

  /** Counts points and events of each stored batch; returns the function that stops listening. */
  listen(bus: DomainEvents): () => void {
    return bus.subscribe((event, origin) => {
      // Another process's write, relayed over PostgreSQL: that process counts it.
      if (origin === 'remote') return;
      if (event.type === 'metrics.appended') {
        this.pointsIngested.inc(event.points);
        this.batchSize.observe({ kind: 'metrics' }, event.points);
      } else if (event.type === 'events.appended') {
        this.eventsIngested.inc(event.events);
        this.batchSize.observe({ kind: 'events' }, event.events);
      }
    });
  }

  /** Adds request counting and latency to `app`, labelled by route pattern (never the raw URL: bounded series). */
  instrument(app: FastifyInstance): void {
    const requests = this.requests;
    const latency = this.latency;
    app.addHook('onResponse', async function countRequest(request, reply) {
      const route = request.routeOptions.url ?? 'unmatched';
      const method = request.method;
      requests.inc({ method, route, status: String(reply.statusCode) });
      latency.observe({ method, route }, reply.elapsedTime / 1000);
    });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

/** Serves `GET /metrics` on the main listener to callers that pass `check` (an admin token). */
export function registerMetricsRoute(
  app: FastifyInstance,
  metrics: ServerMetrics,
  check: (request: FastifyRequest) => Promise<void>,
): void {
  app.get('/metrics', { onRequest: check }, async function serveMetrics(_request, reply) {
    const { contentType, text } = await metrics.scrape();
    return reply.type(contentType).send(text);
  });
}

/**
 * A plain HTTP listener that answers `GET /metrics` without a token, for a Prometheus on the same host; bind it to
 * loopback (`--metrics-port`), the main listener asks for an admin token instead.
 */
export async function listenMetrics(metrics: ServerMetrics, host: string, port: number): Promise<Server> {
  const server = createServer(function answerMetrics(request, response) {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.scrape().then(
      ({ contentType, text }) => response.writeHead(200, { 'content-type': contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      done();
    });
  });
  return server;
}

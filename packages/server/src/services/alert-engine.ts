import { type AlertState, nowMicros, UserPatternCache } from '@simscope/protocol';
import type { DueEvaluation, EvaluationOutcome, NotificationJob, StateChange } from '../store/alert-store.js';
import type { Store } from '../store/store.js';
import { type AlertChannel, DeliveryError } from './alert-notification.js';
import {
  abortReasonFor,
  channelsFor,
  describeEvents,
  describeMetric,
  WindowAggregate,
} from './alert-rules.js';
import type { Leases } from './leases.js';

/** Where the engine reports what it did and what failed; pino's logger fits. */
export interface AlertLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface AlertEngineConfig {
  store: Store;
  /** Microsecond clock; tests pass their own. */
  now?: () => number;
  /** Milliseconds between passes of the timer (default 1000). */
  intervalMs?: number;
  /**
   * Seconds after a slot before it is evaluated (default 2), so that points logged just before the slot, still
   * in a client's send queue, are in.
   */
  graceSeconds?: number;
  /** Pairs evaluated and applied per transaction (default 1000). */
  batchSize?: number;
  /** Most missed slots one pair catches up on in one pass (default 1000); the rest follow in the next. */
  maxCatchUp?: number;
  /** Delivery of each channel; a channel without one fails its notifications with a logged reason. */
  channels?: { email?: AlertChannel; webhook?: AlertChannel };
  /** Tries of one notification before it is given up (default 6), with `retryBaseMs * 2^n` between. */
  maxAttempts?: number;
  retryBaseMs?: number;
  /** Notifications sent at once (default 8). */
  deliveryConcurrency?: number;
  log?: AlertLog;
  /**
   * Whether this process may evaluate (`alert-evaluation`) and deliver (`notification-outbox`) on its timer now;
   * with several servers only the lease holder does (default: always).
   */
  leases?: Pick<Leases, 'holds'>;
}

export interface EvaluationStats {
  /** Pairs evaluated (each may cover several slots). */
  pairs: number;
  slots: number;
  transitions: number;
}

export interface DeliveryStats {
  sent: number;
  retried: number;
  failed: number;
}

const SILENT: AlertLog = { info() {}, warn() {}, error() {} };
const EVENTS_PAGE = 1000;
const PARALLEL_PAIRS = 8;
const MAX_EVENTS_SCANNED = 100_000;

/**
 * Evaluates metrics and events alerts on a timer and delivers their notifications. Every schedule, state and
 * notification lives in the store, and each step is a compare-and-set there, so a restart neither misses an
 * evaluation (overdue slots are caught up) nor repeats a notification, and several servers can share one
 * database.
 */
export class AlertEngine {
  readonly #store: Store;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #grace: number;
  readonly #batch: number;
  readonly #maxCatchUp: number;
  readonly #channels: { email?: AlertChannel; webhook?: AlertChannel };
  readonly #maxAttempts: number;
  readonly #retryBaseMs: number;
  readonly #concurrency: number;
  readonly #log: AlertLog;
  readonly #leases: Pick<Leases, 'holds'>;
  readonly #patterns = new UserPatternCache({ max: 256, field: 'pattern' });
  readonly #warnedDisabled = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #evaluating: Promise<unknown> | undefined;
  #delivering: Promise<unknown> | undefined;

  constructor(config: AlertEngineConfig) {
    this.#store = config.store;
    this.#now = config.now ?? nowMicros;
    this.#intervalMs = config.intervalMs ?? 1000;
    this.#grace = Math.round((config.graceSeconds ?? 2) * 1e6);
    this.#batch = config.batchSize ?? 1000;
    this.#maxCatchUp = config.maxCatchUp ?? 1000;
    this.#channels = config.channels ?? {};
    this.#maxAttempts = config.maxAttempts ?? 6;
    this.#retryBaseMs = config.retryBaseMs ?? 1000;
    this.#concurrency = config.deliveryConcurrency ?? 8;
    this.#log = config.log ?? SILENT;
    this.#leases = config.leases ?? { holds: () => true };
  }

  /** Starts the timer; each tick evaluates what is due and delivers what is pending, never overlapping itself. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
    this.#tick();
  }

  #tick(): void {
    if (this.#leases.holds('alert-evaluation')) this.#evaluate();
    if (this.#leases.holds('notification-outbox')) this.#deliver();
  }

  #evaluate(): void {
    this.#evaluating ??= this.evaluate()
      .catch((error) => this.#log.error({ err: error }, 'alert evaluation failed'))
      .finally(() => {
        this.#evaluating = undefined;
      });
  }

  #deliver(): void {
    this.#delivering ??= this.deliver()
      .catch((error) => this.#log.error({ err: error }, 'alert delivery failed'))
      .finally(() => {
        this.#delivering = undefined;
      });
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all([this.#evaluating, this.#delivering]);
    await Promise.all([this.#channels.email?.close?.(), this.#channels.webhook?.close?.()]);
  }

  /** Evaluates every pair whose slot is at or before `now` less the grace period, catching up missed slots. */
  async evaluate(now = this.#now()): Promise<EvaluationStats> {
    const until = now - this.#grace;
    const stats: EvaluationStats = { pairs: 0, slots: 0, transitions: 0 };
    // Each applied batch moves its pairs' slots past `until` or by at least one frequency, so this ends.
    for (let round = 0; round < 1000; round++) {
      const due = await this.#store.alerts.dueEvaluations(until, this.#batch);
      if (due.length === 0) break;
      const outcomes: EvaluationOutcome[] = [];
      // A few pairs at a time, so that a PostgreSQL pool reads in parallel.
      for (let i = 0; i < due.length; i += PARALLEL_PAIRS) {
        const done = await Promise.all(
          due.slice(i, i + PARALLEL_PAIRS).map((pair) => this.#evaluatePair(pair, until)),
        );
        for (const outcome of done) {
          stats.slots += outcome.slots;
          outcomes.push(outcome.outcome);
        }
      }
      await this.#store.alerts.applyEvaluations(outcomes);
      stats.pairs += due.length;
      for (const [i, o] of outcomes.entries()) {
        stats.transitions += o.transitions.length;
        const pair = due[i];
        if (!pair) continue;
        for (const t of o.transitions) {
          this.#log.info(
            { alert: pair.alert.name, run: pair.runId, from: t.from, to: t.to, at: t.at },
            `alert ${t.to}: ${t.message}`,
          );
        }
      }
      if (due.length < this.#batch) break;
    }
    return stats;
  }

  async #evaluatePair(
    pair: DueEvaluation,
    until: number,
  ): Promise<{ outcome: EvaluationOutcome; slots: number }> {
    const { alert } = pair;
    if (alert.frequency === null || alert.window === null) {
      throw new Error(`alert '${alert.name}' is due but has no frequency or window`);
    }
    const frequency = Math.max(1, Math.round(alert.frequency * 1e6));
    if (!alert.enabled) return this.#skipDisabled(pair, until, frequency);
    const window = Math.max(1, Math.round(alert.window * 1e6));
    let slot = pair.slot;
    let state: AlertState = pair.state;
    let evaluatedAt = slot;
    let value: number | null | undefined;
    let lastData: number | null | undefined;
    const transitions: StateChange[] = [];
    let slots = 0;
    while (slot <= until && slots < this.#maxCatchUp) {
      const result = await this.#evaluateWindow(pair, slot - window, slot);
      slots++;
      evaluatedAt = slot;
      if (result) {
        value = result.value;
        const to: AlertState = result.critical ? 'critical' : 'ok';
        if (to !== state) {
          transitions.push({
            from: state,
            to,
            at: slot,
            value: result.value,
            message: result.message,
            notify: channelsFor(alert, to),
            abortReason: abortReasonFor(alert, to, result.message),
          });
          state = to;
        }
      }
      slot += frequency;
      if (slot <= until) {
        // Windows that start after the last point or event hold nothing and change nothing: skip them.
        lastData ??= await this.#lastData(pair);
        if (lastData === null || slot - window >= lastData) {
          slot += frequency * (Math.floor((until - slot) / frequency) + 1);
        }
      }
    }
    return {
      outcome: {
        runPk: pair.runPk,
        alertPk: alert.pk,
        slot: pair.slot,
        evaluatedAt,
        nextEvalAt: slot,
        ...(value === undefined ? {} : { value }),
        transitions,
      },
      slots,
    };
  }

  /** A disabled alert is not evaluated: its schedule moves past `until` and its state stays as it is. */
  #skipDisabled(
    pair: DueEvaluation,
    until: number,
    frequency: number,
  ): { outcome: EvaluationOutcome; slots: number } {
    const { alert } = pair;
    if (!this.#warnedDisabled.has(alert.pk)) {
      this.#warnedDisabled.add(alert.pk);
      this.#log.warn(
        { alert: alert.name, error: alert.error },
        `alert '${alert.name}' is disabled: ${alert.error}`,
      );
    }
    const nextEvalAt = pair.slot + frequency * (Math.floor((until - pair.slot) / frequency) + 1);
    return {
      outcome: {
        runPk: pair.runPk,
        alertPk: alert.pk,
        slot: pair.slot,
        evaluatedAt: null,
        nextEvalAt,
        transitions: [],
      },
      slots: 0,
    };
  }

  #lastData(pair: DueEvaluation): Promise<number | null> {
    if (pair.alert.source === 'events') return this.#store.alerts.lastEventTimestamp(pair.runPk);
    if (pair.seriesPk === null) return Promise.resolve(null);
    return this.#store.alerts.lastPointTimestamp(pair.seriesPk);
  }

  /** The decision over the window `(from, to]`, or null when it holds no data. */
  async #evaluateWindow(
    pair: DueEvaluation,
    from: number,
    to: number,
  ): Promise<{ critical: boolean; value: number; message: string } | null> {
    const { alert } = pair;
    if (alert.source === 'events') return this.#evaluateEvents(pair, from, to);
    if (pair.seriesPk === null) return null;
    const blocks = await this.#store.metrics.readBlocks(pair.seriesPk, 'timestamp', from + 1, to + 1, [
      'timestamps',
      'values',
    ]);
    const aggregate = new WindowAggregate(alert);
    for (const block of blocks) {
      const ts = block.timestamps;
      const vs = block.values;
      for (let i = 0; i < vs.length; i++) {
        const t = ts[i] ?? Number.NaN;
        if (t > from && t <= to) aggregate.add(vs[i] ?? Number.NaN, t);
      }
    }
    const result = aggregate.result();
    if (!result) return null;
    return { ...result, message: describeMetric(alert, result.critical ? 'critical' : 'ok', result.value) };
  }

  #pattern(pair: DueEvaluation): (message: string) => boolean {
    const { alert } = pair;
    const text = alert.pattern ?? '';
    if (alert.match !== 'regex') return (message) => message.includes(text);
    const compiled = this.#patterns.get(text);
    return (message) => compiled.test(message);
  }

  async #evaluateEvents(
    pair: DueEvaluation,
    from: number,
    to: number,
  ): Promise<{ critical: boolean; value: number; message: string }> {
    const matches = this.#pattern(pair);
    let count = 0;
    let first: string | null = null;
    let after: { timestamp: number; pk: number } | null = null;
    for (let scanned = 0; scanned < MAX_EVENTS_SCANNED; scanned += EVENTS_PAGE) {
      const page = await this.#store.events.listEvents(pair.runPk, {
        search: null,
        levels: null,
        from: from + 1,
        to: to + 1,
        after,
        limit: EVENTS_PAGE,
        descending: false,
      });
      for (const event of page) {
        if (!matches(event.message)) continue;
        count++;
        first ??= event.message;
      }
      const last = page.at(-1);
      if (page.length < EVENTS_PAGE || !last) break;
      after = { timestamp: last.timestamp, pk: last.pk };
    }
    return { critical: count > 0, value: count, message: describeEvents(pair.alert, count, first) };
  }

  /** Sends the notifications that are due, retrying failures later with backoff. */
  async deliver(now = this.#now()): Promise<DeliveryStats> {
    const stats: DeliveryStats = { sent: 0, retried: 0, failed: 0 };
    for (let round = 0; round < 100; round++) {
      // A claim outlives any attempt (time-outs are 10 to 40 s), so no other process sends it meanwhile.
      const jobs = await this.#store.alerts.claimNotifications(now, now + 120_000_000, this.#concurrency);
      if (jobs.length === 0) break;
      // The notifications of one alert on one run go out in the order of their transitions.
      const groups = new Map<string, NotificationJob[]>();
      for (const job of jobs) {
        const key = `${job.run.id}/${job.alert.id}`;
        groups.set(key, [...(groups.get(key) ?? []), job]);
      }
      await Promise.all(
        [...groups.values()].map(async (group) => {
          for (const job of group) await this.#deliverOne(job, now, stats);
        }),
      );
    }
    return stats;
  }

  async #deliverOne(job: NotificationJob, now: number, stats: DeliveryStats): Promise<void> {
    const channel = this.#channels[job.channel];
    const fields = { alert: job.alert.name, run: job.run.id, channel: job.channel, delivery: job.id };
    try {
      if (!channel) {
        throw new DeliveryError(
          job.channel === 'email'
            ? 'no SMTP server is configured (--smtp-host or SIMSCOPE_SMTP_HOST)'
            : `no ${job.channel} delivery is configured`,
          true,
        );
      }
      await channel.send(job);
      await this.#store.alerts.notificationSent(job.pk, this.#now());
      stats.sent++;
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      const permanent = error instanceof DeliveryError && error.permanent;
      const attempts = job.attempts + 1;
      if (permanent || attempts >= this.#maxAttempts) {
        await this.#store.alerts.notificationFailed(job.pk, message, null);
        stats.failed++;
        this.#log.error({ ...fields, attempts }, `alert notification given up: ${message}`);
        return;
      }
      const retryAt = now + this.#retryBaseMs * 1000 * 2 ** (attempts - 1);
      await this.#store.alerts.notificationFailed(job.pk, message, retryAt);
      stats.retried++;
      this.#log.warn({ ...fields, attempts, retryAt }, `alert notification failed, will retry: ${message}`);
    }
  }
}

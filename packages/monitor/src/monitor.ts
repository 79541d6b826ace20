import { SimscopeError } from '@simscope/protocol';
import type { Notifier } from './notifier.js';
import { parseSeconds } from './units.js';

/** Where a monitor logs its samples as metrics: `Run` from `@simscope/client` fits. */
export interface MetricSink {
  logMetrics(values: Record<string, number>): void;
}

/** Settings every monitor takes. */
export interface MonitorConfig {
  /** Between two steps: seconds, or a duration such as `'30s'`, `'5m'` (default 60 s). */
  samplingSeconds?: number | string;
  /** @deprecated The old name of `samplingSeconds` (seconds, as in Scipion). */
  samplingInterval?: number | string;
  /**
   * How long the loop runs from its start: seconds, or a duration such as `'10m'`, `'24h'` (default: until
   * aborted or `step` says done). Scipion's `monitorTime` is minutes: write `'100m'`, not `100`.
   */
  monitorSeconds?: number | string | null;
  /** @deprecated The old name of `monitorSeconds`: seconds, not Scipion's minutes. */
  monitorTime?: number | string | null;
  notifiers?: Notifier[];
  /** Told of a notifier or a step that threw; the loop carries on. Default: a line on stderr. */
  onError?(error: unknown, where: { notifier?: Notifier; step?: true }): void;
}

/** How a loop ended, and after how many steps. */
export interface LoopResult {
  steps: number;
  reason: 'finished' | 'deadline' | 'aborted';
}

/** What a fan-out reached: notifiers that took the notification, and those that threw. */
export interface NotifyResult {
  delivered: number;
  failed: number;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Does something periodically and tells its notifiers: subclasses implement `step()` (return true to stop) and
 * may implement `initLoop()`; `loop()` calls `step()` every `samplingSeconds` until `monitorSeconds` have
 * passed, the step says it is done, or the signal aborts.
 * @example
 * class Heartbeat extends Monitor { step() { this.info('alive'); } }
 * await new Heartbeat({ samplingSeconds: '5s', monitorSeconds: '1m', notifiers: [new ConsoleNotifier()] }).loop();
 */
export abstract class Monitor {
  /** Seconds between two steps; may be changed between steps. */
  samplingSeconds: number;
  /** Seconds the loop runs from its start, or null for no limit. */
  monitorSeconds: number | null;
  readonly #notifiers: Notifier[];
  readonly #onError: NonNullable<MonitorConfig['onError']>;

  constructor(config: MonitorConfig = {}) {
    const sampling = aliased(config, 'samplingSeconds', 'samplingInterval');
    this.samplingSeconds = sampling === undefined ? 60 : parseSeconds(sampling, 'samplingSeconds');
    const limit = aliased(config, 'monitorSeconds', 'monitorTime');
    this.monitorSeconds =
      limit === undefined || limit === null ? null : parseSeconds(limit, 'monitorSeconds');
    this.#notifiers = [...(config.notifiers ?? [])];
    this.#onError =
      config.onError ??
      ((error, where) =>
        process.stderr.write(
          `simscope monitor: ${where.step ? 'step' : 'notifier'} failed: ${(error as Error)?.message ?? String(error)}\n`,
        ));
  }

  /** @deprecated The old name of `samplingSeconds`. */
  get samplingInterval(): number {
    return this.samplingSeconds;
  }
  set samplingInterval(seconds: number) {
    this.samplingSeconds = seconds;
  }

  /** @deprecated The old name of `monitorSeconds` (seconds, not Scipion's minutes). */
  get monitorTime(): number | null {
    return this.monitorSeconds;
  }
  set monitorTime(seconds: number | null) {
    this.monitorSeconds = seconds;
  }

  /** One probe; true ends the loop. */
  abstract step(): boolean | undefined | Promise<boolean | undefined>;

  /** Called once before the first step; a place for baselines. */
  initLoop(): void | Promise<void> {}

  addNotifier(notifier: Notifier): this {
    this.#notifiers.push(notifier);
    return this;
  }

  get notifiers(): readonly Notifier[] {
    return this.#notifiers;
  }

  /** Tells every notifier; one that throws (or rejects) is reported to `onError` and does not stop the others. */
  async notify(title: string, message: string): Promise<NotifyResult> {
    const results = await Promise.allSettled(
      this.#notifiers.map((n) => Promise.resolve().then(() => n.notify(title, message))),
    );
    let failed = 0;
    results.forEach((r, i) => {
      const notifier = this.#notifiers[i];
      if (r.status === 'fulfilled' || !notifier) return;
      failed++;
      this.#report(r.reason, { notifier });
    });
    return { delivered: results.length - failed, failed };
  }

  info(message: string): Promise<NotifyResult> {
    return this.notify('INFO', message);
  }

  #report(error: unknown, where: { notifier?: Notifier; step?: true }): void {
    try {
      this.#onError(error, where);
    } catch {
      // A failing error hook must not stop the loop either.
    }
  }

  /** Steps until done, past `monitorTime`, or aborted; steps keep to the interval without drifting. */
  async loop(options: { signal?: AbortSignal } = {}): Promise<LoopResult> {
    const { signal } = options;
    await this.initLoop();
    const start = performance.now();
    const deadline = this.monitorSeconds === null ? Infinity : start + this.monitorSeconds * 1000;
    let next = start;
    let steps = 0;
    for (;;) {
      if (signal?.aborted) return { steps, reason: 'aborted' };
      let finished = false;
      try {
        finished = (await this.step()) === true;
      } catch (error) {
        this.#report(error, { step: true });
      }
      steps++;
      if (finished) return { steps, reason: 'finished' };
      next += this.samplingSeconds * 1000;
      const now = performance.now();
      if (now >= deadline || next >= deadline) {
        if (!(await sleep(Math.max(0, deadline - now), signal))) return { steps, reason: 'aborted' };
        return { steps, reason: 'deadline' };
      }
      if (!(await sleep(Math.max(0, next - now), signal))) return { steps, reason: 'aborted' };
    }
  }
}

/** The value of an option given under its name or its deprecated alias; both at once is a mistake. */
export function aliased<C extends object, N extends keyof C, A extends keyof C>(
  config: C,
  name: N,
  alias: A,
): C[N] | C[A] | undefined {
  if (config[name] !== undefined && config[alias] !== undefined) {
    throw new SimscopeError(
      'invalid_field',
      `${String(name)}: give either ${String(name)} or its old name ${String(alias)}, not both`,
    );
  }
  return config[name] ?? config[alias];
}

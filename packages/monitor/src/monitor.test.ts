import { describe, expect, it } from 'vitest';
import { Monitor, type MonitorConfig } from './monitor.js';
import { CollectingNotifier, type Notifier } from './notifier.js';

/** Counts its steps, notifies at each, and is done after `stopAfter` steps (never when null). */
class Counting extends Monitor {
  steps = 0;
  inits = 0;
  readonly stopAfter: number | null;
  readonly failAt: number | null;
  constructor(config: MonitorConfig & { stopAfter?: number | null; failAt?: number }) {
    super(config);
    this.stopAfter = config.stopAfter ?? null;
    this.failAt = config.failAt ?? null;
  }
  override initLoop(): void {
    this.inits++;
  }
  async step(): Promise<boolean> {
    this.steps++;
    if (this.steps === this.failAt) throw new Error(`step ${this.steps} broke`);
    await this.notify('STEP', `step ${this.steps}`);
    return this.steps === this.stopAfter;
  }
}

describe('Monitor', () => {
  it('calls initLoop once, then steps every interval until a step says it is done', async () => {
    const seen = new CollectingNotifier();
    const m = new Counting({ samplingInterval: 0.01, stopAfter: 4, notifiers: [seen] });
    expect(await m.loop()).toEqual({ steps: 4, reason: 'finished' });
    expect(m.inits).toBe(1);
    expect(seen.notifications.map((n) => n.message)).toEqual(['step 1', 'step 2', 'step 3', 'step 4']);
  });

  it('stops at monitorTime, a deadline measured from the start of the loop', async () => {
    const m = new Counting({ samplingInterval: 30, monitorTime: 0.3 });
    const t0 = performance.now();
    expect(await m.loop()).toEqual({ steps: 1, reason: 'deadline' });
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
  });

  it('stops at once when its AbortSignal fires, even mid-sleep', async () => {
    const m = new Counting({ samplingInterval: 30 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const t0 = performance.now();
    expect(await m.loop({ signal: controller.signal })).toEqual({ steps: 1, reason: 'aborted' });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(await m.loop({ signal: controller.signal })).toEqual({ steps: 0, reason: 'aborted' });
  });

  it('keeps the other notifiers and the loop going when a notifier throws or rejects', async () => {
    const first = new CollectingNotifier();
    const last = new CollectingNotifier();
    const throwing: Notifier = {
      notify() {
        throw new Error('mail server down');
      },
    };
    const rejecting: Notifier = { notify: async () => Promise.reject(new Error('webhook 500')) };
    const errors: string[] = [];
    const m = new Counting({
      samplingInterval: 0.01,
      stopAfter: 3,
      notifiers: [first, throwing, rejecting],
      onError: (error, where) =>
        errors.push(
          `${where.notifier === throwing ? 'throwing' : where.notifier === rejecting ? 'rejecting' : '?'}: ${(error as Error).message}`,
        ),
    });
    m.addNotifier(last);
    expect(await m.loop()).toEqual({ steps: 3, reason: 'finished' });
    expect(first.notifications).toHaveLength(3);
    expect(last.notifications.map((n) => n.message)).toEqual(['step 1', 'step 2', 'step 3']);
    expect(errors).toEqual([
      'throwing: mail server down',
      'rejecting: webhook 500',
      'throwing: mail server down',
      'rejecting: webhook 500',
      'throwing: mail server down',
      'rejecting: webhook 500',
    ]);
    expect(await m.notify('T', 'm')).toEqual({ delivered: 2, failed: 2 });
  });

  it('reports a step that throws and carries on with the next one', async () => {
    const errors: unknown[] = [];
    const seen = new CollectingNotifier();
    const m = new Counting({
      samplingInterval: 0.01,
      stopAfter: 3,
      failAt: 2,
      notifiers: [seen],
      onError: (error, where) => errors.push([where.step, (error as Error).message]),
    });
    expect(await m.loop()).toEqual({ steps: 3, reason: 'finished' });
    expect(errors).toEqual([[true, 'step 2 broke']]);
    expect(seen.notifications.map((n) => n.message)).toEqual(['step 1', 'step 3']);
  });
});

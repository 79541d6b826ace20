import {
  type AlertState,
  type AlertTransitionView,
  type AlertView,
  type alertCreateSchema,
  type NotificationChannel,
  notificationChannels,
  type RunAlertView,
} from '@simscope/protocol';
import type { z } from 'zod';
import type { AlertDefinition, AlertRecord, RunAlertRecord, TransitionRecord } from '../store/alert-store.js';

/** Seconds between evaluations, and the window, when a definition does not say. */
const DEFAULT_FREQUENCY = 60;

/** Fills in every default of a checked definition, so that two that mean the same compare equal. */
export function normaliseAlert(input: z.output<typeof alertCreateSchema>): AlertDefinition {
  const source = input.source ?? 'metrics';
  const timed = source !== 'user';
  const frequency = timed ? (input.frequency ?? DEFAULT_FREQUENCY) : null;
  return {
    source,
    description: input.description ?? null,
    rule: source === 'metrics' ? (input.rule ?? null) : null,
    metric: source === 'metrics' ? (input.metric ?? null) : null,
    threshold: input.threshold ?? null,
    rangeLow: input.rangeLow ?? null,
    rangeHigh: input.rangeHigh ?? null,
    aggregation: source === 'metrics' ? (input.aggregation ?? 'average') : null,
    pattern: source === 'events' ? (input.pattern ?? null) : null,
    match: source === 'events' ? (input.match ?? 'substring') : null,
    window: timed ? (input.window ?? frequency) : null,
    frequency,
    notification: notificationChannels(input.notification),
    emails: [...new Set(input.emails ?? [])].sort(),
    webhook: input.webhook ?? null,
    notifyOk: input.notifyOk ?? false,
    abortOnCritical: input.abortOnCritical ?? false,
  };
}

/** Fields of definition `b` whose values differ in `a` (empty when they are the same alert). */
export function definitionDifferences(a: AlertDefinition, b: AlertDefinition): string[] {
  const keys = Object.keys(b) as (keyof AlertDefinition)[];
  return keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

export function alertView(a: AlertRecord): AlertView {
  return {
    id: a.id,
    name: a.name,
    source: a.source,
    description: a.description,
    rule: a.rule,
    metric: a.metric,
    threshold: a.threshold,
    rangeLow: a.rangeLow,
    rangeHigh: a.rangeHigh,
    aggregation: a.aggregation,
    pattern: a.pattern,
    match: a.match,
    window: a.window,
    frequency: a.frequency,
    notification: a.notification,
    emails: a.emails,
    webhook: a.webhook,
    notifyOk: a.notifyOk,
    abortOnCritical: a.abortOnCritical,
    created: a.createdAt,
    enabled: a.enabled,
    error: a.error,
  };
}

export function runAlertView(r: RunAlertRecord): RunAlertView {
  return {
    alert: alertView(r.alert),
    run: { id: r.runId, name: r.runName },
    state: r.state,
    since: r.since,
    evaluated: r.evaluatedAt,
    next: r.nextEvalAt,
    value: r.lastValue,
  };
}

export function transitionView(t: TransitionRecord): AlertTransitionView {
  return { at: t.at, from: t.from, to: t.to, value: t.value, message: t.message };
}

/** The channels a change to `to` notifies: always when it turns critical, back to ok only with `notifyOk`. */
export function channelsFor(alert: AlertDefinition, to: AlertState): NotificationChannel[] {
  return to === 'critical' || alert.notifyOk ? alert.notification : [];
}

/** The abort reason a change to `to` sets on the run, or null. */
export function abortReasonFor(alert: AlertRecord, to: AlertState, message: string): string | null {
  return to === 'critical' && alert.abortOnCritical ? `alert '${alert.name}' is critical: ${message}` : null;
}

/** True when `value` breaks the alert's rule. */
function breaksRule(alert: AlertDefinition, value: number): boolean {
  // The schema gives every rule its bounds; NaN (no bound) breaks nothing.
  const threshold = alert.threshold ?? Number.NaN;
  const low = alert.rangeLow ?? Number.NaN;
  const high = alert.rangeHigh ?? Number.NaN;
  switch (alert.rule) {
    case 'is above':
      return value > threshold;
    case 'is below':
      return value < threshold;
    case 'is inside range':
      return value >= low && value <= high;
    case 'is outside range':
      return value < low || value > high;
    default:
      return false;
  }
}

/** Running totals of a window's points, fed one point at a time. */
export class WindowAggregate {
  count = 0;
  sum = 0;
  breaking = 0;
  latest = Number.NaN;
  #latestTs = -Infinity;
  readonly #alert: AlertDefinition;

  constructor(alert: AlertDefinition) {
    this.#alert = alert;
  }

  /** Adds a point; NaN values are skipped (they carry no reading). */
  add(value: number, timestamp: number): void {
    if (Number.isNaN(value)) return;
    this.count++;
    this.sum += value;
    if (breaksRule(this.#alert, value)) this.breaking++;
    if (timestamp >= this.#latestTs) {
      this.#latestTs = timestamp;
      this.latest = value;
    }
  }

  /** The decision over the window, or null when it held no point (the state then stays as it is). */
  result(): { critical: boolean; value: number } | null {
    if (this.count === 0) return null;
    switch (this.#alert.aggregation) {
      case 'sum':
        return { critical: breaksRule(this.#alert, this.sum), value: this.sum };
      case 'at least one':
        return { critical: this.breaking > 0, value: this.latest };
      case 'all':
        return { critical: this.breaking === this.count, value: this.latest };
      default: {
        const mean = this.sum / this.count;
        return { critical: breaksRule(this.#alert, mean), value: mean };
      }
    }
  }
}

const formatNumber = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6))));

function ruleText(alert: AlertDefinition): string {
  if (alert.rule === 'is above' || alert.rule === 'is below') {
    return `${alert.rule.slice(3)} ${formatNumber(alert.threshold ?? Number.NaN)}`;
  }
  const range = `[${formatNumber(alert.rangeLow ?? Number.NaN)}, ${formatNumber(alert.rangeHigh ?? Number.NaN)}]`;
  return alert.rule === 'is inside range' ? `inside ${range}` : `outside ${range}`;
}

/** A line saying why a metrics alert is in `state`, such as "average of 'loss' over 60 s is 0.52, above 0.5". */
export function describeMetric(alert: AlertDefinition, state: AlertState, value: number): string {
  const over = `over ${formatNumber(alert.window ?? Number.NaN)} s`;
  const rule = ruleText(alert);
  const metric = `'${alert.metric}'`;
  const critical = state === 'critical';
  switch (alert.aggregation) {
    case 'at least one':
      return critical
        ? `at least one value of ${metric} ${over} is ${rule} (latest ${formatNumber(value)})`
        : `no value of ${metric} ${over} is ${rule} (latest ${formatNumber(value)})`;
    case 'all':
      return critical
        ? `every value of ${metric} ${over} is ${rule} (latest ${formatNumber(value)})`
        : `not every value of ${metric} ${over} is ${rule} (latest ${formatNumber(value)})`;
    default:
      return `${alert.aggregation} of ${metric} ${over} is ${formatNumber(value)}, ${critical ? '' : 'no longer '}${rule}`;
  }
}

/** A line saying why an events alert is in `state`. */
export function describeEvents(alert: AlertDefinition, matches: number, example: string | null): string {
  const what = alert.match === 'regex' ? `/${alert.pattern}/` : `'${alert.pattern}'`;
  const over = `in the last ${formatNumber(alert.window ?? Number.NaN)} s`;
  if (matches === 0) return `no event matched ${what} ${over}`;
  const shown = example && example.length > 200 ? `${example.slice(0, 200)}…` : example;
  return `${matches} event${matches === 1 ? '' : 's'} matched ${what} ${over}: ${JSON.stringify(shown)}`;
}

import { z } from 'zod';
import { durationSchema } from './durations.js';
import { LIMITS } from './limits.js';
import { userPatternProblem } from './user-pattern.js';
import { unicodeProblem } from './validation.js';

/** What an alert watches: a run's metrics, its events, or a state the run's code sets itself. */
export const ALERT_SOURCES = ['metrics', 'events', 'user'] as const;
export type AlertSource = (typeof ALERT_SOURCES)[number];

/** How a metric's aggregate is compared: with `threshold`, or with `rangeLow` and `rangeHigh`. */
export const ALERT_RULES = ['is above', 'is below', 'is inside range', 'is outside range'] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

/**
 * How the points of a window are combined: the rule is tested on their `average` or `sum`, or on each point
 * (`at least one` of them, or `all` of them, must break the rule).
 */
export const ALERT_AGGREGATIONS = ['average', 'sum', 'at least one', 'all'] as const;
export type AlertAggregation = (typeof ALERT_AGGREGATIONS)[number];

/** How an event alert's pattern is matched against event messages. */
export const ALERT_MATCHES = ['substring', 'regex'] as const;
export type AlertMatch = (typeof ALERT_MATCHES)[number];

export const ALERT_STATES = ['ok', 'critical'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

export const NOTIFICATION_CHANNELS = ['email', 'webhook'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** Largest pattern of an event alert, in characters. */
export const ALERT_PATTERN_LENGTH = 1024;
/** Most extra email addresses on one alert. */
export const ALERT_EMAILS = 20;

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

const alertName = z
  .string()
  .min(1, { message: 'must not be empty' })
  .max(LIMITS.nameLength, { message: `must be at most ${LIMITS.nameLength} characters` })
  .refine((s) => !CONTROL.test(s) && !s.includes('/'), {
    message: "must not contain '/' or control characters",
  })
  .superRefine((s, ctx) => {
    const problem = unicodeProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Seconds, or text such as '1m' (Simvue's alert durations are minutes: `window: 1` is one second here). */
const seconds = durationSchema(366 * 86_400);

const webhookUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
  .max(2048, { message: 'must be at most 2048 characters' });

const alertFields = {
  name: alertName,
  source: z.enum(ALERT_SOURCES).optional(),
  description: z.string().max(LIMITS.descriptionLength).optional(),
  rule: z.enum(ALERT_RULES).optional(),
  metric: z.string().min(1).max(LIMITS.nameLength).optional(),
  threshold: z.number().finite().optional(),
  rangeLow: z.number().finite().optional(),
  rangeHigh: z.number().finite().optional(),
  aggregation: z.enum(ALERT_AGGREGATIONS).optional(),
  pattern: z.string().min(1).max(ALERT_PATTERN_LENGTH).optional(),
  match: z.enum(ALERT_MATCHES).optional(),
  window: seconds.optional(),
  frequency: seconds.optional(),
  notification: z
    .union([z.enum(['none', ...NOTIFICATION_CHANNELS]), z.array(z.enum(NOTIFICATION_CHANNELS))])
    .optional(),
  emails: z
    .array(z.email().max(320))
    .max(ALERT_EMAILS, { message: `at most ${ALERT_EMAILS} addresses` })
    .optional(),
  webhook: webhookUrl.optional(),
  notifyOk: z.boolean().optional(),
  abortOnCritical: z.boolean().optional(),
};

/** Body of `POST /alerts` and `POST /runs/:run/alerts`: an alert definition; see docs/alerts.md. */
export const alertCreateSchema = z.strictObject(alertFields).superRefine((a, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  const source = a.source ?? 'metrics';
  const forbid = (fields: readonly (keyof typeof a)[], why: string) => {
    for (const f of fields) if (a[f] !== undefined) issue(f, why);
  };
  if (source === 'metrics') {
    if (a.metric === undefined) issue('metric', 'is required for a metrics alert');
    if (a.rule === undefined)
      issue('rule', `is required for a metrics alert: one of ${ALERT_RULES.join(', ')}`);
    if (a.rule === 'is above' || a.rule === 'is below') {
      if (a.threshold === undefined) issue('threshold', `is required with rule '${a.rule}'`);
      forbid(['rangeLow', 'rangeHigh'], `is for range rules, not '${a.rule}'`);
    } else if (a.rule !== undefined) {
      if (a.rangeLow === undefined) issue('rangeLow', `is required with rule '${a.rule}'`);
      if (a.rangeHigh === undefined) issue('rangeHigh', `is required with rule '${a.rule}'`);
      if (a.rangeLow !== undefined && a.rangeHigh !== undefined && !(a.rangeLow < a.rangeHigh)) {
        issue('rangeHigh', 'must be greater than rangeLow');
      }
      forbid(['threshold'], `is for 'is above' and 'is below', not '${a.rule}'`);
    }
    forbid(['pattern', 'match'], 'is for events alerts');
  } else if (source === 'events') {
    if (a.pattern === undefined) issue('pattern', 'is required for an events alert');
    if (a.pattern !== undefined && a.match === 'regex') {
      const problem = userPatternProblem(a.pattern);
      if (problem !== null) issue('pattern', `is not a valid regular expression: ${problem}`);
    }
    forbid(['rule', 'metric', 'threshold', 'rangeLow', 'rangeHigh', 'aggregation'], 'is for metrics alerts');
  } else {
    forbid(
      [
        'rule',
        'metric',
        'threshold',
        'rangeLow',
        'rangeHigh',
        'aggregation',
        'pattern',
        'match',
        'window',
        'frequency',
      ],
      'is not used by a user alert (its state is set with PUT /runs/:run/alerts/:alert/state)',
    );
  }
  const channels = notificationChannels(a.notification);
  if (channels.includes('webhook') && a.webhook === undefined) {
    issue('webhook', "is required when notification includes 'webhook'");
  }
});
export type AlertCreateInput = z.input<typeof alertCreateSchema>;

const { name: _name, ...changeableFields } = alertFields;

/**
 * Body of `PATCH /alerts/:alert`: the fields to change; `null` removes an optional one. The definition that
 * results is checked as `POST /alerts` checks one.
 */
export const alertUpdateSchema = z.strictObject(
  Object.fromEntries(
    Object.entries(changeableFields).map(([key, schema]) => [key, schema.unwrap().nullable().optional()]),
  ) as {
    [K in keyof typeof changeableFields]: z.ZodOptional<
      z.ZodNullable<ReturnType<(typeof changeableFields)[K]['unwrap']>>
    >;
  },
);
export type AlertUpdateInput = z.input<typeof alertUpdateSchema>;

/** Body of `POST /runs/:run/alerts`: a definition (created or reused), or `{ alert }` naming an existing one. */
export const alertAttachSchema = z.strictObject({ alert: z.string().min(1).max(LIMITS.nameLength) });

/** Body of `PUT /runs/:run/alerts/:alert/state`: the state a user alert is in now. */
export const alertStateSchema = z.strictObject({
  state: z.enum(ALERT_STATES),
  message: z.string().max(LIMITS.eventMessageLength).optional(),
});

/** The channels a `notification` field asks for: `'none'` and `[]` both mean none. */
export function notificationChannels(
  notification: 'none' | NotificationChannel | readonly NotificationChannel[] | undefined,
): NotificationChannel[] {
  if (notification === undefined || notification === 'none') return [];
  const list = typeof notification === 'string' ? [notification] : notification;
  return NOTIFICATION_CHANNELS.filter((c) => list.includes(c));
}

/** An alert definition with every default filled in: what the server stores and compares to find an identical one. */
export interface AlertDefinition {
  source: AlertSource;
  description: string | null;
  rule: AlertRule | null;
  metric: string | null;
  threshold: number | null;
  rangeLow: number | null;
  rangeHigh: number | null;
  aggregation: AlertAggregation | null;
  pattern: string | null;
  match: AlertMatch | null;
  /** Seconds; null for user alerts. */
  window: number | null;
  /** Seconds; null for user alerts. */
  frequency: number | null;
  notification: NotificationChannel[];
  emails: string[];
  webhook: string | null;
  notifyOk: boolean;
  abortOnCritical: boolean;
}

/** An alert definition as the API returns it; durations in seconds, times in microseconds. */
export interface AlertView extends AlertDefinition {
  id: string;
  name: string;
  created: number;
  /** False for a stored definition this server no longer runs (see `error`): it is never evaluated. */
  enabled: boolean;
  /** Why the alert is disabled, naming the field (`pattern: …`); null when enabled. */
  error: string | null;
}

/**
 * Why a stored definition cannot run on this server, or null when it can: a pattern accepted before patterns
 * were RE2 (a backreference, a lookahead) is refused now.
 */
export function alertDefinitionProblem(definition: AlertDefinition): string | null {
  if (definition.source !== 'events' || definition.match !== 'regex' || definition.pattern === null)
    return null;
  const problem = userPatternProblem(definition.pattern);
  return problem === null ? null : `pattern: is not a valid regular expression: ${problem}`;
}

/** An alert in the workspace's list, with how many runs it is attached to and how many are critical. */
export interface AlertListItem extends AlertView {
  runs: number;
  critical: number;
}

/** One alert attached to one run, with the run's state for it. */
export interface RunAlertView {
  alert: AlertView;
  run: { id: string; name: string };
  state: AlertState;
  /** When the state last changed (or the alert was attached). */
  since: number;
  /** The slot of the last evaluation, null before the first and for user alerts. */
  evaluated: number | null;
  /** The next scheduled evaluation, null for user alerts. */
  next: number | null;
  /** The aggregate of the last evaluation that had data (matching events for events alerts). */
  value: number | null;
}

/** One change of an alert's state on a run. */
export interface AlertTransitionView {
  at: number;
  from: AlertState;
  to: AlertState;
  value: number | null;
  message: string;
}

/** JSON body of a webhook delivery. */
export interface AlertWebhookPayload {
  type: 'alert.critical' | 'alert.ok';
  delivery: string;
  workspace: string;
  alert: AlertView;
  run: { id: string; name: string; url: string | null };
  transition: AlertTransitionView;
}

/** Request header that carries a webhook's HMAC signature: `t=SECONDS,v1=HEX`. */
export const WEBHOOK_SIGNATURE_HEADER = 'simscope-signature';
/** Request header with the delivery's id, the same on every retry so a receiver can ignore repeats. */
export const WEBHOOK_DELIVERY_HEADER = 'simscope-delivery';

const encoder = new TextEncoder();

async function hmacHex(secret: string, text: string): Promise<string> {
  const key = await globalThis.crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, encoder.encode(text)));
  let hex = '';
  for (const byte of mac) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/**
 * The `Simscope-Signature` header of a webhook body: HMAC-SHA256 with `secret` of `"${seconds}.${body}"`.
 * @example
 * const header = await signWebhook(secret, JSON.stringify(payload), Math.floor(Date.now() / 1000));
 */
export async function signWebhook(secret: string, body: string, seconds: number): Promise<string> {
  return `t=${seconds},v1=${await hmacHex(secret, `${seconds}.${body}`)}`;
}

/**
 * True when `header` signs `body` with `secret` and its time is within `toleranceSeconds` of `nowSeconds`:
 * what a webhook receiver checks.
 */
export async function verifyWebhook(
  secret: string,
  body: string,
  header: string | undefined,
  nowSeconds: number,
  toleranceSeconds = 300,
): Promise<boolean> {
  if (!header) return false;
  const parts = new Map(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const seconds = Number(parts.get('t'));
  const given = parts.get('v1');
  if (!Number.isInteger(seconds) || !given || Math.abs(nowSeconds - seconds) > toleranceSeconds) return false;
  const expected = await hmacHex(secret, `${seconds}.${body}`);
  if (expected.length !== given.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return diff === 0;
}

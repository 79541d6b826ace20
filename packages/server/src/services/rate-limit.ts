import { SimscopeError } from '@simscope/protocol';
import type { RateCharge, RateLimitStore } from '../store/rate-limit-store.js';

/** Who a limit counts: each token alone, or all tokens of a workspace together. */
const RATE_SUBJECTS = ['token', 'workspace'] as const;
type RateSubject = (typeof RATE_SUBJECTS)[number];

/** What a limit counts, and over which window. */
const RATE_KINDS = ['requests', 'points', 'artifact_bytes'] as const;
type RateKind = (typeof RATE_KINDS)[number];

/** Seconds of each kind's fixed window: requests and points per second, artifact bytes per hour. */
const RATE_WINDOW_SECONDS: Record<RateKind, number> = { requests: 1, points: 1, artifact_bytes: 3600 };

/** Limits by `subject.kind` (`token.requests`, `workspace.points` …); an absent one is no limit. */
export type RateLimits = Partial<Record<`${RateSubject}.${RateKind}`, number>>;

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
};

/**
 * Reads `--rate-limit`: comma-separated `subject.kind=N` (`token.requests=50,workspace.points=2e6,
 * workspace.artifact_bytes=10GB`); empty or `none` for no limits (the default).
 */
export function parseRateLimits(text: string | undefined, what = 'rate limit'): RateLimits {
  const limits: RateLimits = {};
  if (text === undefined || text.trim() === '' || text.trim() === 'none') return limits;
  for (const part of text.split(',')) {
    const match = /^\s*(\w+)\.(\w+)\s*=\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-zA-Z]*)\s*$/.exec(part);
    const subject = RATE_SUBJECTS.find((s) => s === match?.[1]);
    const kind = RATE_KINDS.find((k) => k === match?.[2]);
    const unit = BYTE_UNITS[(match?.[4] ?? '').toLowerCase()];
    if (
      !match ||
      subject === undefined ||
      kind === undefined ||
      unit === undefined ||
      (unit !== 1 && kind !== 'artifact_bytes')
    ) {
      throw new SimscopeError(
        'invalid_field',
        `${what}: '${part.trim()}' is not SUBJECT.KIND=N with SUBJECT ${RATE_SUBJECTS.join(' or ')} and KIND ${RATE_KINDS.join(', ')} (sizes such as 10GB for artifact_bytes)`,
      );
    }
    const value = Number(match[3]) * unit;
    if (!(value >= 1))
      throw new SimscopeError('invalid_field', `${what}: ${subject}.${kind} must be at least 1`);
    limits[`${subject}.${kind}`] = Math.floor(value);
  }
  return limits;
}

/** What a request costs against the limits: always one request, and the points or artifact bytes it carries. */
export interface RateUsage {
  tokenId: string;
  /** Null for admin calls made outside any workspace: only the token is counted. */
  workspaceId: string | null;
  points?: number;
  artifactBytes?: number;
}

/** A refusal: which limit, and seconds until its window ends (the `Retry-After`). */
export interface RateRefusal {
  limit: `${RateSubject}.${RateKind}`;
  retryAfter: number;
}

/**
 * Enforces the rate limits across every server process: each request charges fixed windows held in the database
 * (`rate_windows`), so processes behind one balancer share one count. A window that already holds something refuses
 * a charge that would pass the limit; a single request larger than a limit passes alone in an empty window.
 */
export class RateLimiter {
  readonly #store: RateLimitStore;
  readonly #limits: RateLimits;
  readonly #nowSeconds: () => number;
  #prunedAt = 0;

  constructor(store: RateLimitStore, limits: RateLimits, nowSeconds: () => number = () => Date.now() / 1000) {
    this.#store = store;
    this.#limits = limits;
    this.#nowSeconds = nowSeconds;
  }

  /** True when any limit is set. */
  get enabled(): boolean {
    return Object.keys(this.#limits).length > 0;
  }

  /** Charges a request; null when admitted, else the limit it hit (nothing is charged then). */
  async admit(usage: RateUsage): Promise<RateRefusal | null> {
    const amounts: Record<RateKind, number> = {
      requests: 1,
      points: usage.points ?? 0,
      artifact_bytes: usage.artifactBytes ?? 0,
    };
    const ids: Record<RateSubject, string | null> = { token: usage.tokenId, workspace: usage.workspaceId };
    const charges: RateCharge[] = [];
    for (const subject of RATE_SUBJECTS) {
      for (const kind of RATE_KINDS) {
        const limit = this.#limits[`${subject}.${kind}`];
        if (limit === undefined || amounts[kind] <= 0 || ids[subject] === null) continue;
        charges.push({
          key: `${subject}:${ids[subject]}:${kind}`,
          limit,
          windowSeconds: RATE_WINDOW_SECONDS[kind],
          amount: amounts[kind],
        });
      }
    }
    const now = this.#nowSeconds();
    this.#pruneNow(now);
    const result = await this.#store.charge(charges, now);
    if (result === null) return null;
    const [subject, , kind] = result.refused.key.split(':') as [RateSubject, string, RateKind];
    return { limit: `${subject}.${kind}`, retryAfter: Math.max(1, Math.ceil(result.resetAt - now)) };
  }

  // Windows older than the longest one are never read again; forget them once a minute, off the request's path.
  #pruneNow(now: number): void {
    if (now - this.#prunedAt < 60) return;
    this.#prunedAt = now;
    const longest = Math.max(...Object.values(RATE_WINDOW_SECONDS));
    this.#store.prune(now - 2 * longest).catch(() => undefined);
  }
}

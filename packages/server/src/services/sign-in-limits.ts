import { SimscopeError } from '@simscope/protocol';
import type { Store } from '../store/store.js';

/** A counter of failures in the shared rate windows. */
export interface FailureKey {
  key: string;
  limit: number;
  windowSeconds: number;
}

/** Refuses with `rate_limited` when some key already holds its limit of failures in the current window. */
export async function refuseWhenSpent(
  store: Store,
  keys: readonly FailureKey[],
  nowSeconds: number,
  what: string,
): Promise<void> {
  // A charge of 0 against limit - 1 is refused exactly when the window already holds `limit` failures.
  const refused = await store.rateLimits.charge(
    keys.map((k) => ({ key: k.key, limit: k.limit - 1, windowSeconds: k.windowSeconds, amount: 0 })),
    nowSeconds,
  );
  if (!refused) return;
  const wait = Math.max(1, Math.ceil(refused.resetAt - nowSeconds));
  throw new SimscopeError('rate_limited', `${what}: try again in ${wait} s`, {
    details: { retryAfter: wait },
  });
}

/** Counts one more (a failure, a start) against each key. */
export async function countOne(store: Store, keys: readonly FailureKey[], nowSeconds: number): Promise<void> {
  await store.rateLimits.charge(
    keys.map((k) => ({ ...k, amount: 1 })),
    nowSeconds,
  );
}

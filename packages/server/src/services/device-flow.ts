import { randomInt } from 'node:crypto';
import { type DeviceGrantView, SimscopeError, TOKEN_SCOPES, type TokenScope } from '@simscope/protocol';
import type { DeviceGrantRecord } from '../store/sign-in-store.js';
import type { Store, TokenRecord, UserRecord } from '../store/store.js';
import { hashToken, newId, newToken } from './auth-service.js';
import { SIGN_IN_DEFAULTS, type SignInConfig } from './sign-in-config.js';
import { countOne, refuseWhenSpent } from './sign-in-limits.js';

const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
/** Consonants without look-alikes (RFC 8628 section 6.1): 20^8 codes, typed without case or dashes. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;
/** How much a poll that comes too soon lengthens the interval (RFC 8628 section 3.5). */
const SLOW_DOWN_SECONDS = 5;

/** An RFC 8628 / RFC 6749 error answer of the token endpoint. */
export class DeviceFlowError extends Error {
  constructor(
    readonly error:
      | 'authorization_pending'
      | 'slow_down'
      | 'expired_token'
      | 'access_denied'
      | 'invalid_grant'
      | 'unsupported_grant_type'
      | 'invalid_scope',
    message: string,
  ) {
    super(message);
  }
}

/** A user code as shown: `BCDF-GHJK`. */
function showCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** A user code as typed, in the stored form: letters only, upper case. */
function normalizeUserCode(typed: string): string {
  return typed.toUpperCase().replace(/[^A-Z]/g, '');
}

function parseScope(scope: string | undefined): TokenScope[] {
  if (scope === undefined || scope.trim() === '') return ['write'];
  const scopes = scope.trim().split(/\s+/);
  for (const s of scopes) {
    if (!(TOKEN_SCOPES as readonly string[]).includes(s)) {
      throw new DeviceFlowError('invalid_scope', `scope '${s}' is not one of ${TOKEN_SCOPES.join(', ')}`);
    }
  }
  return [...new Set(scopes)] as TokenScope[];
}

/** The OAuth 2.0 device authorization grant (RFC 8628): codes for a device, approval by a signed-in user, polling. */
export class DeviceFlow {
  readonly #store: Store;
  readonly #now: () => number;
  readonly #config: (typeof SIGN_IN_DEFAULTS)['device'] | NonNullable<SignInConfig['device']>;

  constructor(options: { store: Store; now: () => number; config?: SignInConfig }) {
    this.#store = options.store;
    this.#now = options.now;
    this.#config = options.config?.device ?? SIGN_IN_DEFAULTS.device;
  }

  /**
   * Starts a device sign-in: the codes, and where the user approves it (`origin` is this server's address). Anyone
   * may ask, so each address may start only so many per window.
   */
  async authorize(input: { client_id: string; scope?: string | undefined }, origin: string, address: string) {
    const scopes = parseScope(input.scope);
    const { startsPerAddress, windowSeconds } = this.#config;
    const key = { key: `device-start:address:${address}`, limit: startsPerAddress, windowSeconds };
    const nowSeconds = this.#now() / 1e6;
    await refuseWhenSpent(
      this.#store,
      [key],
      nowSeconds,
      'too many device sign-ins started from this address',
    );
    await countOne(this.#store, [key], nowSeconds);
    const deviceCode = newToken();
    const userCode = Array.from({ length: USER_CODE_LENGTH }, () => USER_CODE_ALPHABET[randomInt(20)]).join(
      '',
    );
    const now = this.#now();
    const { intervalSeconds, expiresSeconds } = this.#config;
    await this.#store.signIn.createDeviceGrant({
      deviceHash: hashToken(deviceCode),
      userCode,
      clientId: input.client_id,
      scopes,
      createdAt: now,
      expiresAt: now + expiresSeconds * 1e6,
      intervalSeconds,
      polledAt: null,
      status: 'pending',
      userId: null,
      grantScopes: null,
      tokenSeconds: null,
    });
    await this.#store.signIn.pruneDeviceGrants(now - 86_400e6);
    const verification = `${origin}/device`;
    return {
      device_code: deviceCode,
      user_code: showCode(userCode),
      verification_uri: verification,
      verification_uri_complete: `${verification}?code=${showCode(userCode)}`,
      expires_in: expiresSeconds,
      interval: intervalSeconds,
    };
  }

  /** One poll of the token endpoint: the token once approved (and only once), else the RFC's error. */
  async token(input: { grant_type: string; device_code: string; client_id?: string | undefined }) {
    if (input.grant_type !== DEVICE_GRANT_TYPE) {
      throw new DeviceFlowError('unsupported_grant_type', `grant_type must be ${DEVICE_GRANT_TYPE}`);
    }
    const grant = await this.#store.signIn.findDeviceGrant({ deviceHash: hashToken(input.device_code) });
    if (!grant || (input.client_id !== undefined && input.client_id !== grant.clientId)) {
      throw new DeviceFlowError('invalid_grant', 'unknown device_code');
    }
    const now = this.#now();
    if (grant.status === 'used')
      throw new DeviceFlowError('invalid_grant', 'this device_code was already used');
    if (grant.expiresAt <= now) throw new DeviceFlowError('expired_token', 'the device code has expired');
    if (grant.status === 'denied') throw new DeviceFlowError('access_denied', 'the user denied the request');
    if (grant.status === 'pending') return this.#pending(grant, now);
    if (!(await this.#store.signIn.useDeviceGrant(grant.deviceHash)) || !grant.userId) {
      throw new DeviceFlowError('invalid_grant', 'this device_code was already used');
    }
    return this.#issue(grant, grant.userId, now);
  }

  async #pending(grant: DeviceGrantRecord, now: number): Promise<never> {
    const early = grant.polledAt !== null && now - grant.polledAt < grant.intervalSeconds * 1e6;
    const interval = early ? grant.intervalSeconds + SLOW_DOWN_SECONDS : grant.intervalSeconds;
    await this.#store.signIn.markPolled(grant.deviceHash, now, interval);
    if (early) throw new DeviceFlowError('slow_down', `poll at most every ${interval} s`);
    throw new DeviceFlowError('authorization_pending', 'the user has not yet approved the request');
  }

  async #issue(grant: DeviceGrantRecord, userId: string, now: number) {
    const secret = newToken();
    const scopes = grant.grantScopes ?? grant.scopes;
    const seconds = grant.tokenSeconds;
    const token: TokenRecord = {
      id: newId(),
      userId,
      name: `device: ${grant.clientId}`.slice(0, 200),
      scopes,
      createdAt: now,
      expiresAt: seconds === null ? null : now + Math.round(seconds * 1e6),
      revokedAt: null,
    };
    await this.#store.identity.createToken(token, hashToken(secret));
    return {
      access_token: secret,
      token_type: 'Bearer' as const,
      scope: scopes.join(' '),
      ...(seconds === null ? {} : { expires_in: Math.round(seconds) }),
    };
  }

  /** A pending grant by the code a user typed; wrong codes are counted per user and per address. */
  async find(user: UserRecord, typed: string, address: string): Promise<DeviceGrantRecord> {
    const { codeGuesses, windowSeconds } = this.#config;
    const keys = [
      { key: `device-code:user:${user.id}`, limit: codeGuesses, windowSeconds },
      { key: `device-code:address:${address}`, limit: codeGuesses * 5, windowSeconds },
    ];
    const nowSeconds = this.#now() / 1e6;
    await refuseWhenSpent(this.#store, keys, nowSeconds, 'too many wrong device codes');
    const code = normalizeUserCode(typed);
    const grant =
      code.length === USER_CODE_LENGTH
        ? await this.#store.signIn.findDeviceGrant({ userCode: code })
        : undefined;
    if (!grant || grant.expiresAt <= this.#now()) {
      await countOne(this.#store, keys, nowSeconds);
      throw new SimscopeError(
        'not_found',
        `params.code: no device sign-in with code '${typed.slice(0, 20)}'`,
        {
          details: { field: 'params.code' },
        },
      );
    }
    return grant;
  }

  /** Approves (with scopes no wider than the user's own, and a lifetime) or denies a pending grant. */
  async decide(
    user: UserRecord,
    grant: DeviceGrantRecord,
    input: { approve: boolean; scopes?: TokenScope[] | undefined; expiresIn?: number | null | undefined },
  ): Promise<DeviceGrantView> {
    const own = new Set<TokenScope>(user.isAdmin ? TOKEN_SCOPES : ['read', 'write']);
    const scopes = input.scopes ?? grant.scopes;
    const beyond = scopes.find((s) => !own.has(s));
    if (input.approve && beyond) {
      throw new SimscopeError('forbidden', `body.scopes: you cannot grant '${beyond}'`, {
        details: { field: 'body.scopes' },
      });
    }
    const decided = await this.#store.signIn.decideDeviceGrant(
      grant.userCode,
      input.approve
        ? { status: 'approved', userId: user.id, scopes, tokenSeconds: input.expiresIn ?? null }
        : { status: 'denied', userId: user.id },
    );
    if (!decided) {
      throw new SimscopeError(
        'conflict',
        `device sign-in '${showCode(grant.userCode)}' was already ${grant.status}`,
      );
    }
    return deviceGrantView({ ...grant, status: input.approve ? 'approved' : 'denied' });
  }
}

/** The view of a grant for the approving user. */
export function deviceGrantView(grant: DeviceGrantRecord): DeviceGrantView {
  return {
    userCode: showCode(grant.userCode),
    clientId: grant.clientId,
    scopes: grant.scopes,
    expires: grant.expiresAt,
    status: grant.status,
  };
}

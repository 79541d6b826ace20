import { API_PREFIX, SimscopeError, WORKSPACE_ROLES } from '@simscope/protocol';
import type { OidcConfig } from './services/sign-in-config.js';

/** The server's `--oidc-*` flags (each also `SIMSCOPE_OIDC_*` and an `oidc_*` key of `[server]`). */
export const OIDC_FLAGS = {
  'oidc-issuer': { type: 'string' },
  'oidc-client-id': { type: 'string' },
  'oidc-client-secret': { type: 'string' },
  'oidc-redirect-uri': { type: 'string' },
  'oidc-scope': { type: 'string' },
  'oidc-groups-claim': { type: 'string' },
  'oidc-workspaces': { type: 'string' },
  'oidc-name': { type: 'string' },
} as const;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function parseUrl(text: string, what: string): URL {
  try {
    const url = new URL(text);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url;
  } catch {}
  throw new SimscopeError('invalid_field', `${what}: must be an http:// or https:// URL, got '${text}'`);
}

/** `group=workspace,other=workspace2:viewer`: which workspace the members of each group join, and as what. */
function parseWorkspaces(text: string | undefined): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const pair of (text ?? '').split(',').map((p) => p.trim())) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      throw new SimscopeError('invalid_field', `oidc workspaces: '${pair}' is not GROUP=WORKSPACE`);
    }
    const target = pair.slice(eq + 1).trim();
    const colon = target.lastIndexOf(':');
    const role = colon > 0 ? target.slice(colon + 1) : null;
    if (role !== null && !(WORKSPACE_ROLES as readonly string[]).includes(role)) {
      throw new SimscopeError(
        'invalid_field',
        `oidc workspaces: role '${role}' of '${pair}' is not one of ${WORKSPACE_ROLES.join(', ')}`,
      );
    }
    mapping[pair.slice(0, eq).trim()] = target;
  }
  return mapping;
}

/** OpenID Connect settings, or null without an issuer; `publicUrl` gives the default redirect URI. */
export function readOidcSettings(
  get: (flag: keyof typeof OIDC_FLAGS) => string | undefined,
  publicUrl: string | null,
): OidcConfig | null {
  const issuer = get('oidc-issuer');
  if (!issuer) return null;
  const issuerUrl = parseUrl(issuer, 'oidc issuer');
  const clientId = get('oidc-client-id');
  const clientSecret = get('oidc-client-secret');
  if (!clientId || !clientSecret) {
    throw new SimscopeError(
      'invalid_field',
      'oidc: --oidc-issuer needs --oidc-client-id and --oidc-client-secret',
    );
  }
  const redirect =
    get('oidc-redirect-uri') ?? (publicUrl ? `${publicUrl}${API_PREFIX}/auth/oidc/callback` : undefined);
  if (!redirect) {
    throw new SimscopeError(
      'invalid_field',
      'oidc: give --oidc-redirect-uri (or --public-url, which implies it)',
    );
  }
  const scope = get('oidc-scope');
  const groupsClaim = get('oidc-groups-claim');
  const name = get('oidc-name');
  return {
    issuer,
    clientId,
    clientSecret,
    redirectUri: parseUrl(redirect, 'oidc redirect uri').href,
    workspaces: parseWorkspaces(get('oidc-workspaces')),
    // Plain http only to a provider on this host, as in tests and local set-ups.
    allowHttp: issuerUrl.protocol === 'http:' && LOOPBACK.has(issuerUrl.hostname),
    ...(scope ? { scope } : {}),
    ...(groupsClaim ? { groupsClaim } : {}),
    ...(name ? { name } : {}),
  };
}

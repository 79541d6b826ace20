import type { RouteSpec } from './routes.js';
import type { TokenView } from './views.js';

/** Sign-in routes (issue 22): passwords and web sessions, the device authorization grant, OpenID Connect, self-service. */
export const AUTH_ROUTES = {
  authConfig: {
    method: 'GET',
    path: '/auth/config',
    scope: 'none',
    summary: 'How one may sign in here: password, and single sign-on when an OpenID Connect provider is set',
  },
  signIn: {
    method: 'POST',
    path: '/auth/sign-in',
    scope: 'none',
    summary:
      '{ user, password }: opens a web session in an HttpOnly cookie and answers the CSRF token that cookie-authenticated writes send in x-simscope-csrf; failed attempts are rate-limited per user and per address',
  },
  currentSession: {
    method: 'GET',
    path: '/auth/session',
    scope: 'none',
    summary: "The web session of the request's cookie: its user and CSRF token (204 without one)",
  },
  signOut: {
    method: 'POST',
    path: '/auth/sign-out',
    scope: 'none',
    summary: "Ends the request's web session and clears its cookie",
  },
  signOutEverywhere: {
    method: 'POST',
    path: '/auth/sign-out-everywhere',
    scope: 'account',
    summary: "Ends every web session of the caller's user",
  },
  changeOwnPassword: {
    method: 'PUT',
    path: '/me/password',
    scope: 'account',
    summary: '{ current, password }: changes your own password (current may be absent while you have none)',
  },
  setUserPassword: {
    method: 'PUT',
    path: '/admin/users/:user/password',
    scope: 'admin',
    summary: "{ password }: sets a user's password; their web sessions end",
  },
  deviceAuthorization: {
    method: 'POST',
    path: '/auth/device',
    scope: 'none',
    summary:
      'RFC 8628 device authorization: { client_id, scope? } (JSON or form) answers device_code, user_code, verification_uri(_complete), interval and expires_in',
  },
  deviceToken: {
    method: 'POST',
    path: '/auth/token',
    scope: 'none',
    summary:
      'RFC 8628 token request: grant_type urn:ietf:params:oauth:grant-type:device_code with device_code and client_id; errors authorization_pending, slow_down, expired_token, access_denied, invalid_grant',
  },
  getDeviceGrant: {
    method: 'GET',
    path: '/auth/device/:code',
    scope: 'account',
    summary:
      'A pending device sign-in by its user code (what it asks for); wrong codes are counted and limited',
  },
  decideDeviceGrant: {
    method: 'POST',
    path: '/auth/device/:code',
    scope: 'account',
    summary:
      '{ approve, scopes?, expiresIn? }: approves (a token with these scopes, at most your own, and lifetime) or denies a device sign-in',
  },
  oidcStart: {
    method: 'GET',
    path: '/auth/oidc/start',
    scope: 'none',
    summary: 'Single sign-on: redirects to the OpenID Connect provider (authorization code flow with PKCE)',
  },
  oidcCallback: {
    method: 'GET',
    path: '/auth/oidc/callback',
    scope: 'none',
    summary:
      "The provider's redirect back: checks state, nonce and audience, creates the user on first sign-in, maps groups to workspaces, opens a web session",
  },
  listOwnTokens: {
    method: 'GET',
    path: '/me/tokens',
    scope: 'account',
    summary: 'Your own tokens (not sessions)',
  },
  revokeOwnToken: {
    method: 'DELETE',
    path: '/me/tokens/:token',
    scope: 'account',
    summary: 'Revokes one of your own tokens',
  },
  listOwnSessions: {
    method: 'GET',
    path: '/me/sessions',
    scope: 'account',
    summary: 'Your open web sessions; `current` marks the one calling',
  },
  revokeOwnSession: {
    method: 'DELETE',
    path: '/me/sessions/:session',
    scope: 'account',
    summary: 'Ends one of your web sessions',
  },
} as const satisfies Record<string, RouteSpec>;

/** `POST /auth/sign-in`, `GET /auth/session`: the signed-in user and the CSRF token for writes. */
export interface SignInView {
  user: { id: string; name: string };
  csrfToken: string;
  expires: number | null;
}

/** A web session of `GET /me/sessions`. */
export interface SessionView {
  id: string;
  method: 'password' | 'oidc';
  userAgent: string | null;
  address: string | null;
  created: number;
  expires: number | null;
  current: boolean;
}

/** A device sign-in awaiting the user (`GET /auth/device/:code`). */
export interface DeviceGrantView {
  userCode: string;
  clientId: string;
  scopes: string[];
  expires: number;
  status: 'pending' | 'approved' | 'denied' | 'used';
}

/** RFC 8628 section 3.2. */
interface DeviceAuthorizationView {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** RFC 6749 section 5.1, for the device grant. */
interface DeviceTokenView {
  access_token: string;
  token_type: 'Bearer';
  expires_in?: number;
  scope: string;
}

/** The answers of the sign-in routes (merged into `RouteResponses`). */
export interface AuthRouteResponses {
  authConfig: { password: boolean; oidc: { name: string } | null };
  signIn: SignInView;
  currentSession: SignInView | undefined;
  signOut: undefined;
  signOutEverywhere: { sessionsEnded: number };
  changeOwnPassword: undefined;
  setUserPassword: undefined;
  deviceAuthorization: DeviceAuthorizationView;
  deviceToken: DeviceTokenView;
  getDeviceGrant: DeviceGrantView;
  decideDeviceGrant: DeviceGrantView;
  oidcStart: undefined;
  oidcCallback: undefined;
  listOwnTokens: { items: TokenView[] };
  revokeOwnToken: undefined;
  listOwnSessions: { items: SessionView[] };
  revokeOwnSession: undefined;
}

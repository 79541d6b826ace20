/** An OpenID Connect provider to sign in with (`--oidc-*`, `SIMSCOPE_OIDC_*`). */
export interface OidcConfig {
  /** The provider's issuer URL; its `/.well-known/openid-configuration` is read on first use. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** This server's callback, registered at the provider: `https://HOST/api/v1/auth/oidc/callback`. */
  redirectUri: string;
  /** Scopes asked for (default `openid profile email`; add the one that releases the groups claim, if any). */
  scope?: string;
  /** The ID token claim that lists the user's groups (default `groups`). */
  groupsClaim?: string;
  /** A group's value → the workspace its members join (created when missing), as `workspace` or `workspace:role`. */
  workspaces?: Readonly<Record<string, string>>;
  /** What the sign-in button says (default `Single sign-on`). */
  name?: string;
  /** Lets the provider be reached over plain http (a provider on loopback in tests). */
  allowHttp?: boolean;
}

/** Web sign-in, device grant and single sign-on settings; every field has a default. */
export interface SignInConfig {
  /** How long a web session lasts, in seconds (default 14 days). */
  sessionSeconds?: number;
  /** Failed sign-ins allowed per user name and per client address in each window (default 10 and 50 per 900 s). */
  failedSignIns?: { perUser: number; perAddress: number; windowSeconds: number };
  /**
   * Device grant: seconds between polls, seconds a code lives, wrong user codes a user may enter and device sign-ins
   * an address may start per window.
   */
  device?: {
    intervalSeconds: number;
    expiresSeconds: number;
    codeGuesses: number;
    startsPerAddress: number;
    windowSeconds: number;
  };
  oidc?: OidcConfig | null;
}

export const SIGN_IN_DEFAULTS = {
  sessionSeconds: 14 * 86_400,
  failedSignIns: { perUser: 10, perAddress: 50, windowSeconds: 900 },
  device: {
    intervalSeconds: 5,
    expiresSeconds: 600,
    codeGuesses: 10,
    startsPerAddress: 60,
    windowSeconds: 900,
  },
} as const;

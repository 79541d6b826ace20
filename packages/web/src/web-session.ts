import { API_PREFIX, type SignInView } from '@simscope/protocol/api';

/**
 * What the UI holds for a web session in place of a token: its CSRF token, marked so the API client sends it in
 * `x-simscope-csrf` (the session itself travels in an HttpOnly cookie the page cannot read).
 */
const SESSION_MARK = 'session:';

export function sessionToken(view: SignInView): string {
  return `${SESSION_MARK}${view.csrfToken}`;
}

/** The CSRF token of a session token, or null for an API token. */
export function csrfOf(token: string): string | null {
  return token.startsWith(SESSION_MARK) ? token.slice(SESSION_MARK.length) : null;
}

async function answer<T>(res: Response): Promise<T> {
  const text = await res.text();
  const body = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const e = body?.error as { message?: string } | undefined;
    throw new Error(e?.message ?? `the server answered ${res.status}`);
  }
  return body as T;
}

/** The web session of this browser's cookie, or null when there is none. */
export async function currentWebSession(): Promise<SignInView | null> {
  const res = await fetch(`${API_PREFIX}/auth/session`);
  if (res.status === 204) return null;
  return answer<SignInView>(res);
}

/** Signs in with a user name and password; the server sets the session cookie. */
export async function passwordSignIn(user: string, password: string): Promise<SignInView> {
  const res = await fetch(`${API_PREFIX}/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  return answer<SignInView>(res);
}

/** Whether single sign-on is set up, and what its button says. */
export async function authConfig(): Promise<{ password: boolean; oidc: { name: string } | null }> {
  return answer(await fetch(`${API_PREFIX}/auth/config`));
}

/** Ends this browser's web session (the server clears the cookie). */
export async function signOutSession(token: string): Promise<void> {
  const csrf = csrfOf(token);
  if (csrf === null) return;
  await fetch(`${API_PREFIX}/auth/sign-out`, { method: 'POST', headers: { 'x-simscope-csrf': csrf } });
}

/** Where the single sign-on button leads. */
export const OIDC_START = `${API_PREFIX}/auth/oidc/start`;

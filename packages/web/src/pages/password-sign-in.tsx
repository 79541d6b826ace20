import type { SignInView } from '@simscope/protocol/api';
import { type FormEvent, useEffect, useState } from 'react';
import { authConfig, OIDC_START, passwordSignIn } from '../web-session.js';

/** Sign-in with a user name and password, and the single sign-on button when the server has a provider. */
export function PasswordSignIn({ onSignedIn }: { onSignedIn(view: SignInView): Promise<void> | void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState<string | null>(null);

  useEffect(() => {
    authConfig()
      .then((c) => setSso(c.oidc?.name ?? null))
      .catch(() => setSso(null));
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!user.trim() || !password) return;
    setBusy(true);
    setError(null);
    try {
      await onSignedIn(await passwordSignIn(user.trim(), password));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} aria-label="Sign in with a password">
      <label htmlFor="signin-user">User name</label>
      <input
        id="signin-user"
        autoComplete="username"
        value={user}
        onChange={(e) => setUser(e.target.value)}
      />
      <label htmlFor="signin-password">Password</label>
      <input
        id="signin-password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        aria-describedby={error ? 'password-error' : undefined}
        aria-invalid={error ? true : undefined}
      />
      {error ? (
        <p id="password-error" className="error" role="alert">
          {error}
        </p>
      ) : null}
      <button className="primary" type="submit" disabled={busy}>
        Log in
      </button>
      {sso ? (
        <p>
          <a className="button" href={OIDC_START}>
            Sign in with {sso}
          </a>
        </p>
      ) : null}
      <hr />
    </form>
  );
}

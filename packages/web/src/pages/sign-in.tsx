import { type FormEvent, useState } from 'react';
import { sessionToken } from '../web-session.js';
import { PasswordSignIn } from './password-sign-in.js';

/** Sign-in with a password, single sign-on, or an access token (the server prints a sign-in link with one on its first start). */
export function SignIn({
  error,
  onToken,
}: {
  error?: string | undefined;
  onToken(token: string): Promise<void> | void;
}) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!token.trim()) return;
    setBusy(true);
    await onToken(token.trim());
    setBusy(false);
  };
  return (
    <main className="signin">
      <h1>Sign in to Simscope</h1>
      <PasswordSignIn onSignedIn={(view) => onToken(sessionToken(view))} />
      <form onSubmit={submit}>
        <label htmlFor="token">Access token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          placeholder="ssk_…"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby={error ? 'signin-error' : 'signin-help'}
          aria-invalid={error ? true : undefined}
        />
        {error ? (
          <p id="signin-error" className="error" role="alert">
            {error}
          </p>
        ) : null}
        <p id="signin-help" className="muted">
          The server prints a sign-in link on start (<code>http://HOST:PORT/#token=…</code>); an admin can
          create a token with <code>POST /api/v1/admin/tokens</code>.
        </p>
        <button className="primary" type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

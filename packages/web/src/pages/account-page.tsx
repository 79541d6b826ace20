import type { SessionView } from '@simscope/protocol/api';
import { type FormEvent, useCallback, useState } from 'react';
import { ListTable } from '../components/list-table.js';
import { LoadError, Loading } from '../components/load-state.js';
import { useLoaded } from '../components/use-loaded.js';
import { formatTime } from '../format.js';
import { navigate } from '../router.js';
import { useSession } from '../session.js';

/** A user agent in a few words, such as `Chrome 126 on Linux` (the whole string is in the cell's title). */
function describeBrowser(agent: string | null): string {
  if (!agent) return '—';
  // Most agents name several engines; the first of these that appears is the browser.
  const found = ['Edg', 'Firefox', 'Chrome', 'Safari']
    .map((b) => new RegExp(`${b}/(\\d+)`).exec(agent))
    .find((m) => m !== null);
  const os = ['Windows', 'Android', 'iPhone', 'iPad', 'Mac OS X', 'Linux'].find((o) => agent.includes(o));
  const name = found ? `${found[0].split('/')[0]?.replace('Edg', 'Edge')} ${found[1]}` : agent.slice(0, 40);
  return os ? `${name} on ${os === 'Mac OS X' ? 'macOS' : os}` : name;
}

/** Your own tokens and web sessions, each revocable; sign-out everywhere; a new password. */
export function AccountPage() {
  const s = useSession();
  const { api } = s;
  const { data, error, setError, reload, retry } = useLoaded(
    useCallback(async () => {
      const [t, w] = await Promise.all([api.call('listOwnTokens'), api.call('listOwnSessions')]);
      return { tokens: t.items, sessions: w.items };
    }, [api]),
  );

  const revokeToken = async (id: string) => {
    await api.call('revokeOwnToken', { params: { token: id } }).catch(setError);
    await reload();
  };
  const endSession = async (session: SessionView) => {
    await api.call('revokeOwnSession', { params: { session: session.id } }).catch(setError);
    if (session.current) {
      s.signOut();
      navigate('/');
    } else await reload();
  };
  const everywhere = async () => {
    await api.call('signOutEverywhere').catch(setError);
    s.signOut();
    navigate('/');
  };

  if (error) return <LoadError error={error} what="your tokens and sessions" onRetry={retry} />;
  if (!data) return <Loading what="your tokens and sessions" />;
  return (
    <section aria-labelledby="account-heading">
      <h1 id="account-heading">{s.me.user.name}</h1>
      <h2>Web sessions</h2>
      <ListTable
        label="Sessions"
        columns={['Signed in', 'How', 'Browser', 'Address', 'Expires', '']}
        items={data.sessions}
        row={(w) => (
          <>
            <td>
              {formatTime(w.created)}
              {w.current ? ' (this one)' : ''}
            </td>
            <td>{w.method === 'oidc' ? 'single sign-on' : 'password'}</td>
            <td title={w.userAgent ?? undefined}>{describeBrowser(w.userAgent)}</td>
            <td>{w.address ?? '—'}</td>
            <td>{formatTime(w.expires)}</td>
            <td>
              <button type="button" onClick={() => endSession(w)}>
                End
              </button>
            </td>
          </>
        )}
      />
      <p>
        <button type="button" onClick={everywhere}>
          Sign out everywhere
        </button>
      </p>
      <h2>Tokens</h2>
      <ListTable
        label="Tokens"
        columns={['Name', 'Scopes', 'Created', 'Expires', '']}
        items={data.tokens}
        row={(t) => (
          <>
            <td>{t.name}</td>
            <td>{t.scopes.join(', ')}</td>
            <td>{formatTime(t.created)}</td>
            <td>{formatTime(t.expires)}</td>
            <td>
              {t.revoked === null ? (
                <button type="button" onClick={() => revokeToken(t.id)} aria-label={`Revoke ${t.name}`}>
                  Revoke
                </button>
              ) : (
                <span className="muted">revoked {formatTime(t.revoked)}</span>
              )}
            </td>
          </>
        )}
      />
      <PasswordForm />
    </section>
  );
}

function PasswordForm() {
  const { api } = useSession();
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api.call('changeOwnPassword', { body: { ...(current ? { current } : {}), password } });
      setMessage({ ok: true, text: 'Password changed.' });
      setCurrent('');
      setPassword('');
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message });
    }
  };
  return (
    <form onSubmit={submit} aria-label="Change password" className="form-grid">
      <h2 style={{ gridColumn: '1 / -1' }}>Password</h2>
      <label htmlFor="password-current">Current password</label>
      <input
        id="password-current"
        type="password"
        autoComplete="current-password"
        value={current}
        onChange={(e) => setCurrent(e.target.value)}
      />
      <label htmlFor="password-new">New password (8 or more characters)</label>
      <input
        id="password-new"
        type="password"
        autoComplete="new-password"
        minLength={8}
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <span />
      <button type="submit" className="primary">
        Change password
      </button>
      {message ? (
        <p
          role={message.ok ? 'status' : 'alert'}
          className={message.ok ? '' : 'error'}
          style={{ gridColumn: '1 / -1' }}
        >
          {message.text}
        </p>
      ) : null}
    </form>
  );
}

import type { DeviceGrantView } from '@simscope/protocol/api';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useSession } from '../session.js';

/** Token lifetimes one may grant a device, in seconds (null: no expiry). */
const LIFETIMES = [
  { label: '1 day', seconds: 86_400 },
  { label: '30 days', seconds: 30 * 86_400 },
  { label: '90 days', seconds: 90 * 86_400 },
  { label: '1 year', seconds: 365 * 86_400 },
  { label: 'Never expires', seconds: null },
] as const;

/** Approving a device sign-in (`simscope login`): the code it shows, what it asks for, scopes and lifetime. */
export function DevicePage({ code: initial }: { code: string }) {
  const { api, me } = useSession();
  const [code, setCode] = useState(initial);
  const [grant, setGrant] = useState<DeviceGrantView | null>(null);
  const [scopes, setScopes] = useState<string[]>([]);
  const [lifetime, setLifetime] = useState(2);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const lookUp = useCallback(
    async (typed: string) => {
      setError(null);
      setBusy(true);
      try {
        const found = await api.call('getDeviceGrant', { params: { code: typed.trim() } });
        setGrant(found);
        setScopes(found.scopes.filter((s) => s !== 'admin' || me.user.admin));
      } catch (err) {
        setGrant(null);
        setError((err as Error).message);
      } finally {
        setBusy(false);
      }
    },
    [api, me.user.admin],
  );

  useEffect(() => {
    if (initial) void lookUp(initial);
  }, [initial, lookUp]);

  const decide = async (approve: boolean) => {
    if (!grant) return;
    setBusy(true);
    setError(null);
    try {
      const body = approve
        ? { approve, scopes, expiresIn: LIFETIMES[lifetime]?.seconds ?? null }
        : { approve };
      setGrant(await api.call('decideDeviceGrant', { params: { code: grant.userCode }, body }));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (code.trim()) void lookUp(code);
  };
  const toggle = (scope: string) =>
    setScopes((s) => (s.includes(scope) ? s.filter((x) => x !== scope) : [...s, scope]));

  return (
    <section aria-labelledby="device-heading" className="device-page">
      <h1 id="device-heading">Sign in a device</h1>
      {grant === null ? (
        <form onSubmit={submit}>
          <label htmlFor="device-code">Code shown by the device</label>{' '}
          <input
            id="device-code"
            autoComplete="off"
            placeholder="BCDF-GHJK"
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />{' '}
          <button type="submit" className="primary" disabled={busy}>
            Continue
          </button>
        </form>
      ) : grant.status === 'pending' ? (
        <div>
          <p>
            <strong>{grant.clientId}</strong> asks to act as <strong>{me.user.name}</strong> with code{' '}
            <code>{grant.userCode}</code>.
          </p>
          <fieldset>
            <legend>Scopes</legend>
            {(['read', 'write', 'admin'] as const)
              .filter((s) => s !== 'admin' || me.user.admin)
              .map((s) => (
                <label key={s}>
                  <input type="checkbox" checked={scopes.includes(s)} onChange={() => toggle(s)} /> {s}
                </label>
              ))}
          </fieldset>
          <label htmlFor="device-lifetime">Token lifetime</label>{' '}
          <select id="device-lifetime" value={lifetime} onChange={(e) => setLifetime(Number(e.target.value))}>
            {LIFETIMES.map((l, i) => (
              <option key={l.label} value={i}>
                {l.label}
              </option>
            ))}
          </select>
          <p>
            <button
              type="button"
              className="primary"
              disabled={busy || scopes.length === 0}
              onClick={() => decide(true)}
            >
              Approve
            </button>{' '}
            <button type="button" disabled={busy} onClick={() => decide(false)}>
              Deny
            </button>
          </p>
        </div>
      ) : (
        <p role="status" data-testid="device-decision">
          {grant.status === 'approved'
            ? 'Approved: the device is signed in. You can go back to it now.'
            : grant.status === 'denied'
              ? 'Denied: the device was not signed in.'
              : 'This code was already used.'}
        </p>
      )}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  );
}

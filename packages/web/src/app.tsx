import { useCallback, useEffect, useMemo, useState } from 'react';
import { Api, ApiError, type Me } from './api.js';
import { Link } from './components/link.js';
import { AccountPage } from './pages/account-page.js';
import { AlertsPage } from './pages/alerts-page.js';
import { AuditPage } from './pages/audit-page.js';
import { ComparePage } from './pages/compare-page.js';
import { DevicePage } from './pages/device-page.js';
import { FolderPage } from './pages/folder-page.js';
import { InvitePage } from './pages/invite-page.js';
import { MembersPage } from './pages/members-page.js';
import { NotFoundPage } from './pages/not-found-page.js';
import { RunPage } from './pages/run-page.js';
import { RunsPage } from './pages/runs-page.js';
import { SignIn } from './pages/sign-in.js';
import { SweepPage } from './pages/sweep-page.js';
import { TelemetryPage } from './pages/telemetry-page.js';
import { href, navigate, useLocation } from './router.js';
import {
  applyTheme,
  type Selection,
  type Session,
  SessionContext,
  storedTheme,
  storedToken,
  storedWorkspace,
  storeToken,
  storeWorkspace,
  THEMES,
  type Theme,
  useSession,
} from './session.js';
import { csrfOf, currentWebSession, sessionToken, signOutSession } from './web-session.js';

type State =
  | { kind: 'checking' }
  | { kind: 'signed-out'; error?: string }
  | { kind: 'signed-in'; api: Api; me: Me }
  /** Signed in but a member of no workspace yet, on an invite link: the invite page alone. */
  | { kind: 'invited'; api: Api };

/** The whole UI: sign-in, then the page for the address. */
export function App() {
  const [state, setState] = useState<State>({ kind: 'checking' });
  const [theme, setTheme] = useState<Theme>(storedTheme);
  const [selected, setSelected] = useState<readonly string[]>(() => {
    try {
      const s = JSON.parse(sessionStorage.getItem('simscope.selection') ?? '[]');
      return Array.isArray(s) ? s.filter((x) => typeof x === 'string') : [];
    } catch {
      return [];
    }
  });

  const signIn = useCallback(async (token: string, workspace: string | null) => {
    const api = new Api(token, workspace, (closed) => {
      if (closed.reason === 'membership_removed') storeWorkspace(null);
      else storeToken(null);
      setState({ kind: 'signed-out', error: `Your session ended: ${closed.message}.` });
    });
    try {
      const me = await api.me();
      if (csrfOf(token) === null) storeToken(token);
      setState({ kind: 'signed-in', api, me });
    } catch (error) {
      if (
        !workspace &&
        error instanceof ApiError &&
        error.status === 403 &&
        window.location.pathname === '/invite'
      ) {
        if (csrfOf(token) === null) storeToken(token);
        return setState({ kind: 'invited', api });
      }
      if (workspace && error instanceof ApiError && error.status === 403) {
        storeWorkspace(null);
        return signIn(token, null);
      }
      const message =
        error instanceof ApiError && error.status === 401
          ? 'This token is not valid (unknown, revoked or expired).'
          : `Could not reach the server: ${(error as Error).message}`;
      if (error instanceof ApiError && error.status === 401) storeToken(null);
      setState({ kind: 'signed-out', error: message });
    }
  }, []);

  useEffect(() => {
    const token = storedToken();
    if (token) void signIn(token, storedWorkspace());
    else
      currentWebSession()
        .then((view) =>
          view ? signIn(sessionToken(view), storedWorkspace()) : setState({ kind: 'signed-out' }),
        )
        .catch(() => setState({ kind: 'signed-out' }));
  }, [signIn]);

  useEffect(() => {
    applyTheme(theme);
    if (theme !== 'system') return;
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    const follow = () => applyTheme('system');
    media.addEventListener('change', follow);
    return () => media.removeEventListener('change', follow);
  }, [theme]);

  useEffect(() => {
    sessionStorage.setItem('simscope.selection', JSON.stringify(selected));
  }, [selected]);

  const selection: Selection = useMemo(
    () => ({
      ids: selected,
      has: (id) => selected.includes(id),
      toggle: (id) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id])),
      set: (ids) => setSelected([...ids]),
    }),
    [selected],
  );

  const session: Session | null = useMemo(() => {
    if (state.kind !== 'signed-in') return null;
    return {
      api: state.api,
      me: state.me,
      selection,
      theme,
      signOut: () => {
        void signOutSession(state.api.token);
        storeToken(null);
        setState({ kind: 'signed-out' });
      },
      switchWorkspace: (name) => {
        storeWorkspace(name);
        void signIn(state.api.token, name);
      },
    };
  }, [state, selection, theme, signIn]);

  if (state.kind === 'invited')
    return (
      <main id="main" style={{ padding: 16 }}>
        <InvitePage api={state.api} />
      </main>
    );
  if (state.kind === 'checking')
    return (
      <p className="muted" style={{ padding: 16 }}>
        Signing in…
      </p>
    );
  if (state.kind === 'signed-out' || !session) {
    return (
      <SignIn
        error={state.kind === 'signed-out' ? state.error : undefined}
        onToken={(t) => signIn(t, null)}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell
        theme={theme}
        onTheme={(t) => {
          // Applied before the render so that charts made in it read the new theme's colours.
          applyTheme(t);
          setTheme(t);
        }}
      />
    </SessionContext.Provider>
  );
}

function Shell({ theme, onTheme }: { theme: Theme; onTheme(t: Theme): void }) {
  const location = useLocation();
  const s = useSession();
  const path = location.path;
  let page: React.ReactNode;
  const m = /^\/runs\/([^/]+)\/?$/.exec(path);
  if (m) {
    page = <RunPage key={m[1]} runId={decodeURIComponent(m[1] ?? '')} tab={location.query.get('tab')} />;
  } else if (path === '/compare') {
    page = (
      <ComparePage
        runs={(location.query.get('runs') ?? '').split(',').filter(Boolean)}
        metric={location.query.get('metric')}
        group={location.query.get('group')}
        band={location.query.get('band') === 'range' ? 'range' : 'std'}
        dashboard={location.query.get('dashboard')}
      />
    );
  } else if (path === '/sweep') {
    page = (
      <SweepPage
        filter={location.query.get('filter') ?? ''}
        axes={location.query.get('axes')}
        x={location.query.get('x')}
        y={location.query.get('y')}
      />
    );
  } else if (path === '/telemetry') {
    page = <TelemetryPage service={location.query.get('service')} range={location.query.get('range')} />;
  } else if (path.startsWith('/folders/') || path === '/folders') {
    page = <FolderPage path={decodeURIComponent(path.slice('/folders'.length)) || '/'} />;
  } else if (path === '/alerts') {
    page = <AlertsPage />;
  } else if (path === '/device') {
    page = <DevicePage code={location.query.get('code') ?? ''} />;
  } else if (path === '/account') {
    page = <AccountPage />;
  } else if (path === '/members' || path === '/audit' || path === '/invite') {
    page =
      path === '/members' ? <MembersPage /> : path === '/audit' ? <AuditPage /> : <InvitePage api={s.api} />;
  } else if (path === '/' || path === '') {
    page = (
      <RunsPage folder={location.query.get('folder') ?? '/'} filter={location.query.get('filter') ?? ''} />
    );
  } else {
    page = <NotFoundPage path={path} />;
  }
  const compareHref = href('/compare', { runs: s.selection.ids.join(',') });
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link className="brand" to="/">
          Simscope
        </Link>
        <nav aria-label="Main">
          <Link to="/" aria-current={path === '/' ? 'page' : undefined}>
            Runs
          </Link>
          <Link to={compareHref} aria-current={path === '/compare' ? 'page' : undefined}>
            Compare ({s.selection.ids.length})
          </Link>
          <Link to="/sweep" aria-current={path === '/sweep' ? 'page' : undefined}>
            Sweep
          </Link>
          <Link to="/alerts" aria-current={path === '/alerts' ? 'page' : undefined}>
            Alerts
          </Link>
          <Link to="/telemetry" aria-current={path === '/telemetry' ? 'page' : undefined}>
            Telemetry
          </Link>
          {s.me.workspace.role === 'owner' ? <OwnerLinks path={path} /> : null}
        </nav>
        <div className="tools">
          {s.me.workspaces.length > 1 ? (
            <label>
              <span className="visually-hidden">Workspace</span>
              <select value={s.me.workspace.name} onChange={(e) => s.switchWorkspace(e.target.value)}>
                {s.me.workspaces.map((w) => (
                  <option key={w.id} value={w.name}>
                    {w.name}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <span className="muted" title="Workspace">
              {s.me.workspace.name}
            </span>
          )}
          <label>
            <span className="visually-hidden">Theme</span>
            <select value={theme} onChange={(e) => onTheme(e.target.value as Theme)} aria-label="Theme">
              {THEMES.map((t) => (
                <option key={t} value={t}>
                  {t === 'system' ? 'System theme' : t === 'light' ? 'Light' : 'Dark'}
                </option>
              ))}
            </select>
          </label>
          <Link to="/account" aria-current={path === '/account' ? 'page' : undefined}>
            {s.me.user.name}
          </Link>
          <button
            type="button"
            onClick={() => {
              s.signOut();
              navigate('/');
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

/** The pages only a workspace's owners can use. */
function OwnerLinks({ path }: { path: string }) {
  return (
    <>
      <Link to="/members" aria-current={path === '/members' ? 'page' : undefined}>
        Members
      </Link>
      <Link to="/audit" aria-current={path === '/audit' ? 'page' : undefined}>
        Audit
      </Link>
    </>
  );
}

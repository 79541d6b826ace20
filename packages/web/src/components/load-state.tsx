import { ApiError } from '../api.js';

export type Problem = 'unreachable' | 'server' | 'not-found' | 'forbidden' | 'refused';

/** What went wrong with a request, in the words a page shows: the server down, failing, or saying no. */
export function problemOf(error: unknown): { kind: Problem; title: string; message: string } {
  if (!(error instanceof ApiError)) {
    return {
      kind: 'unreachable',
      title: 'The server cannot be reached',
      message: `${(error as Error)?.message ?? String(error)}. Check the connection, or that the server runs.`,
    };
  }
  // A proxy in front of a stopped server answers 502–504 without a JSON error of ours.
  if (error.status === 502 || error.status === 503 || error.status === 504) {
    if (error.code === 'bad_answer' || error.code === 'error') {
      return { kind: 'unreachable', title: 'The server cannot be reached', message: error.message };
    }
  }
  if (error.status >= 500) {
    return { kind: 'server', title: `The server failed (${error.status})`, message: error.message };
  }
  if (error.status === 404) return { kind: 'not-found', title: 'Not found', message: error.message };
  if (error.status === 401 || error.status === 403) {
    return { kind: 'forbidden', title: 'Not allowed', message: error.message };
  }
  return { kind: 'refused', title: `The server refused (${error.status})`, message: error.message };
}

/** A failed load shown as what it is, with a button to try again. */
export function LoadError({ error, onRetry, what }: { error: unknown; onRetry?: () => void; what: string }) {
  const p = problemOf(error);
  return (
    <div className={`load-error load-${p.kind}`} role="alert" data-problem={p.kind}>
      <strong>{p.title}</strong>
      <span>
        {what}: {p.message}
      </span>
      {onRetry && p.kind !== 'not-found' ? (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

/** A load under way (a polite live region, so a screen reader hears it once). */
export function Loading({ what }: { what: string }) {
  return (
    <p className="muted loading" aria-live="polite" data-state="loading">
      Loading {what}…
    </p>
  );
}

/** Whether the signed-in token may change things (it has the `write` scope). */
export function canWrite(scopes: readonly string[]): boolean {
  return scopes.includes('write') || scopes.includes('admin');
}

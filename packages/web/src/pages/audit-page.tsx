import type { AuditEntryView } from '@simscope/protocol/api';
import { useCallback, useEffect, useState } from 'react';
import { ListTable } from '../components/list-table.js';
import { LoadError, Loading } from '../components/load-state.js';
import { formatTime } from '../format.js';
import { useSession } from '../session.js';

/** The workspace's audit log, newest first, a page at a time (owners). */
export function AuditPage() {
  const { api, me } = useSession();
  const [items, setItems] = useState<AuditEntryView[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  const more = useCallback(
    async (cursor: string | null) => {
      setError(null);
      try {
        const page = await api.call('listAudit', { query: { limit: 100, next: cursor } });
        setItems((before) => [...(cursor ? (before ?? []) : []), ...page.items]);
        setNext(page.next);
      } catch (err) {
        setError(err);
      }
    },
    [api],
  );
  useEffect(() => {
    void more(null);
  }, [more, attempt]);

  if (error)
    return (
      <LoadError error={error} what="the audit log (owners only)" onRetry={() => setAttempt((a) => a + 1)} />
    );
  if (!items) return <Loading what="the audit log" />;
  return (
    <section aria-labelledby="audit-heading">
      <h1 id="audit-heading">Audit log of {me.workspace.name}</h1>
      <ListTable
        label="Audit log"
        columns={['When', 'Who', 'What', 'Which', 'Details']}
        items={items}
        row={(a) => (
          <>
            <td>{formatTime(a.at)}</td>
            <td>{a.actorName}</td>
            <td>{a.action}</td>
            <td>{a.targetId ?? '—'}</td>
            <td>{a.details ? JSON.stringify(a.details) : ''}</td>
          </>
        )}
      />
      {next ? (
        <button type="button" onClick={() => more(next)}>
          Older entries
        </button>
      ) : null}
    </section>
  );
}

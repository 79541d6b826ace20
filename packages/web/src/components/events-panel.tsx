import { EVENT_LEVELS, type EventLevel, type EventView } from '@simscope/protocol';
import { useEffect, useRef, useState } from 'react';
import { formatTime } from '../format.js';
import { useSession } from '../session.js';

const PAGE = 500;

type Shown = EventView & { key: number };

/** Gives events keys for the list: they have no id, and several may share a timestamp. */
function keyed(items: EventView[], counter: { n: number }): Shown[] {
  return items.map((e) => ({ ...e, key: counter.n++ }));
}

/** A run's events, newest at the bottom: text search, level filter, older pages, and a live tail. */
export function EventsPanel({ run, tick }: { run: string; tick: number }) {
  const { api } = useSession();
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [levels, setLevels] = useState<EventLevel[]>([...EVENT_LEVELS]);
  const [events, setEvents] = useState<Shown[]>([]);
  const counter = useRef({ n: 0 });
  const [older, setOlder] = useState<string | null>(null);
  const [tail, setTail] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const list = useRef<HTMLDivElement>(null);
  const eventsRef = useRef(events);
  eventsRef.current = events;

  useEffect(() => {
    const t = setTimeout(() => setQuery(search), 250);
    return () => clearTimeout(t);
  }, [search]);

  const level = levels.length === EVENT_LEVELS.length ? undefined : levels.join(',');
  const noLevel = levels.length === 0;

  useEffect(() => {
    if (noLevel) {
      setEvents([]);
      setOlder(null);
      setLoading(false);
      return;
    }
    const abort = new AbortController();
    setLoading(true);
    api.events(run, { q: query || undefined, level, order: 'desc', limit: PAGE }, abort.signal).then(
      (page) => {
        setEvents(keyed(page.items.reverse(), counter.current));
        setOlder(page.next);
        setError(null);
        setLoading(false);
      },
      (e: Error) => {
        if (!abort.signal.aborted) setError(e.message);
      },
    );
    return () => abort.abort();
  }, [api, run, query, level, noLevel]);

  // Live tail: fetch what came after the newest event shown.
  useEffect(() => {
    if (tick === 0 || !tail || noLevel) return;
    const abort = new AbortController();
    const shown = eventsRef.current;
    const newest = shown.at(-1)?.timestamp;
    api
      .events(
        run,
        {
          q: query || undefined,
          level,
          order: 'asc',
          limit: 10_000,
          ...(newest !== undefined ? { from: newest } : {}),
        },
        abort.signal,
      )
      .then(
        (page) => {
          let skip = 0;
          for (let i = shown.length - 1; i >= 0 && shown[i]?.timestamp === newest; i--) skip++;
          const fresh = page.items.slice(skip);
          if (fresh.length > 0) setEvents((e) => [...e, ...keyed(fresh, counter.current)]);
        },
        () => {},
      );
    return () => abort.abort();
  }, [tick]);

  // Keep the newest in view while tailing.
  useEffect(() => {
    const el = list.current;
    if (el && tail) el.scrollTop = el.scrollHeight;
  }, [events, tail]);

  const loadOlder = async () => {
    if (!older) return;
    const page = await api.events(run, {
      q: query || undefined,
      level,
      order: 'desc',
      limit: PAGE,
      next: older,
    });
    setEvents((e) => [...keyed(page.items.reverse(), counter.current), ...e]);
    setOlder(page.next);
  };

  const toggle = (l: EventLevel) =>
    setLevels((ls) =>
      ls.includes(l) ? ls.filter((x) => x !== l) : EVENT_LEVELS.filter((x) => x === l || ls.includes(x)),
    );

  return (
    <section aria-label="Events">
      <div className="chart-controls">
        <label>
          Search events <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <fieldset className="row" style={{ border: 'none', margin: 0, padding: 0 }}>
          <legend className="visually-hidden">Levels</legend>
          {EVENT_LEVELS.map((l) => (
            <label key={l}>
              <input type="checkbox" checked={levels.includes(l)} onChange={() => toggle(l)} /> {l}
            </label>
          ))}
        </fieldset>
        <label>
          <input type="checkbox" checked={tail} onChange={(e) => setTail(e.target.checked)} /> live tail
        </label>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="events-list" ref={list} data-testid="events">
        {older ? (
          <button type="button" onClick={loadOlder} style={{ margin: 6 }}>
            Load older events
          </button>
        ) : null}
        <ol aria-live={tail ? 'polite' : 'off'} aria-relevant="additions">
          {events.map((e) => (
            <li key={e.key}>
              <time dateTime={e.time}>{formatTime(e.timestamp)}</time>
              <span className={`level-${e.level}`}>{e.level}</span>
              <span className="message">{e.message}</span>
            </li>
          ))}
        </ol>
        {!loading && events.length === 0 ? (
          <p className="muted" style={{ padding: 8 }}>
            No events.
          </p>
        ) : null}
      </div>
      <p className="muted">{events.length.toLocaleString('en')} events shown</p>
    </section>
  );
}

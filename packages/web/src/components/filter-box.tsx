import { FilterError, parseFilter } from '@simscope/protocol';
import { type KeyboardEvent, useLayoutEffect, useMemo, useRef, useState } from 'react';

export interface FilterProblem {
  message: string;
  position: number | null;
}

const FIELDS = [
  'id',
  'name',
  'status',
  'folder',
  'user',
  'description',
  'created',
  'started',
  'ended',
  'heartbeat',
  'tags',
];
const KEYWORDS = ['and', 'or', 'not', 'contains', 'matches', 'exists', 'has'];
const STATUSES = ['created', 'running', 'completed', 'failed', 'terminated', 'lost'];

// Operators, keywords or a field with a dot: text like this is meant as a filter, so its mistakes are shown.
const FILTER_LIKE =
  /[=<>!()]|\b(and|or|not|contains|matches|exists|has)\b|^\s*(id|name|status|folder|user|description|created|started|ended|heartbeat|tags)\s|\b(metadata|metrics|tag)\./i;

/** Whether text that does not parse was meant as a filter (else it is searched for in run names). */
export function looksLikeFilter(text: string): boolean {
  return FILTER_LIKE.test(text);
}

export function checkFilter(text: string): FilterProblem | null {
  try {
    parseFilter(text);
    return null;
  } catch (error) {
    if (error instanceof FilterError) return { message: error.message, position: error.position };
    return { message: (error as Error).message, position: null };
  }
}

/**
 * What the filter box means: a filter when the text parses or looks like one, else a search of run names
 * (`name contains "text"`, ignoring case).
 */
export function filterOfText(text: string): { filter: string; nameSearch: string | null } {
  const trimmed = text.trim();
  if (!trimmed) return { filter: '', nameSearch: null };
  if (checkFilter(trimmed) === null || looksLikeFilter(trimmed)) return { filter: trimmed, nameSearch: null };
  return { filter: `name contains ${JSON.stringify(trimmed)}`, nameSearch: trimmed };
}

/** A word of filter text, quoted when it is not a plain identifier. */
function word(text: string): string {
  return /^[A-Za-z_][\w./-]*$/.test(text) ? text : JSON.stringify(text);
}

interface Suggestion {
  text: string;
  kind: string;
}

/** Completions of the word before the caret: fields, metadata paths, tags, metric names, statuses. */
function suggestionsFor(
  text: string,
  caret: number,
  sources: { metadataPaths: readonly string[]; metricNames: readonly string[]; tags: readonly string[] },
): { from: number; items: Suggestion[] } {
  const before = text.slice(0, caret);
  const from = Math.max(before.lastIndexOf(' '), before.lastIndexOf('('), before.lastIndexOf('\t')) + 1;
  const token = before.slice(from);
  const previous = before.slice(0, from).trim().split(/\s+/).slice(-2);
  const out: Suggestion[] = [];
  const lower = token.toLowerCase();
  const offer = (candidate: string, kind: string) => {
    if (candidate.toLowerCase() !== lower) out.push({ text: candidate, kind });
  };
  if (previous.at(-1) === 'has' || lower.startsWith('tag.')) {
    for (const t of sources.tags) offer(`tag.${word(t)}`, 'tag');
  } else if (previous.at(-1) === 'contains' && previous[0] === 'tags') {
    for (const t of sources.tags) offer(word(t), 'tag');
  } else if (previous[0] === 'status' && (previous[1] === '==' || previous[1] === '!=')) {
    for (const s of STATUSES) offer(s, 'status');
  } else if (token.length > 0) {
    for (const f of FIELDS) offer(f, 'field');
    for (const k of KEYWORDS) offer(k, 'keyword');
    for (const p of sources.metadataPaths) offer(`metadata.${p.split('.').map(word).join('.')}`, 'metadata');
    for (const m of sources.metricNames) {
      for (const s of ['last', 'min', 'max']) offer(`metrics.${word(m)}.${s}`, 'metric');
    }
  }
  if (token.length === 0 && out.length === 0) return { from, items: [] };
  const starts = out.filter((s) => s.text.toLowerCase().startsWith(lower));
  const within = lower
    ? out.filter((s) => !s.text.toLowerCase().startsWith(lower) && s.text.toLowerCase().includes(lower))
    : [];
  return { from, items: [...starts, ...within].slice(0, 10) };
}

/**
 * The filter box: the filter language with its errors in place, or free text that searches run names, with
 * completions of fields, metadata keys, tags and metric names under the caret.
 */
export function FilterBox({
  value,
  problem,
  nameSearch,
  onChange,
  sources,
  onFocus,
}: {
  value: string;
  problem: FilterProblem | null;
  nameSearch: string | null;
  onChange(value: string): void;
  sources: { metadataPaths: readonly string[]; metricNames: readonly string[]; tags: readonly string[] };
  onFocus(): void;
}) {
  const [caret, setCaret] = useState<number | null>(null);
  const [active, setActive] = useState(-1);
  const [closed, setClosed] = useState(false);
  const found = useMemo(
    () => (caret === null ? { from: 0, items: [] } : suggestionsFor(value, caret, sources)),
    [value, caret, sources],
  );
  const open = !closed && found.items.length > 0;
  const input = useRef<HTMLInputElement>(null);
  // Where the caret goes once an accepted completion is in the box (set before the next key can land).
  const pendingCaret = useRef<number | null>(null);
  useLayoutEffect(() => {
    if (pendingCaret.current === null || !input.current) return;
    input.current.setSelectionRange(pendingCaret.current, pendingCaret.current);
    pendingCaret.current = null;
  }, [value]);

  const accept = (s: Suggestion) => {
    const end = caret ?? value.length;
    const insert = s.text + (s.text.endsWith('.') ? '' : ' ');
    const next = value.slice(0, found.from) + insert + value.slice(end);
    onChange(next);
    const at = found.from + insert.length;
    setCaret(at);
    setActive(-1);
    pendingCaret.current = at;
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (!open) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = found.items.length;
      setActive((a) => (e.key === 'ArrowDown' ? (a + 1) % n : (a - 1 + n) % n));
    } else if ((e.key === 'Enter' || e.key === 'Tab') && active >= 0) {
      e.preventDefault();
      const item = found.items[active];
      if (item) accept(item);
    } else if (e.key === 'Escape') {
      // A search box clears itself on Escape; with completions open, Escape only closes them.
      e.preventDefault();
      setClosed(true);
    }
  };

  return (
    <div className="filter">
      <label htmlFor="filter" className="visually-hidden">
        Filter runs
      </label>
      <input
        id="filter"
        ref={input}
        type="search"
        placeholder="Search names, or filter: status == running and metadata.re > 500"
        value={value}
        onChange={(e) => {
          setClosed(false);
          setActive(-1);
          setCaret(e.target.selectionStart);
          onChange(e.target.value);
        }}
        onKeyDown={onKeyDown}
        onKeyUp={(e) => {
          if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End')
            setCaret(e.currentTarget.selectionStart);
        }}
        onFocus={onFocus}
        onBlur={() => setTimeout(() => setClosed(true), 150)}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? 'filter-error' : nameSearch ? 'filter-hint' : undefined}
        aria-controls="filter-suggestions"
        aria-autocomplete="list"
        aria-activedescendant={open && active >= 0 ? `filter-suggestion-${active}` : undefined}
        spellCheck={false}
        autoComplete="off"
      />
      {open ? (
        <div id="filter-suggestions" className="filter-suggestions" role="listbox" aria-label="Completions">
          {found.items.map((s, i) => (
            <div
              key={`${s.kind}:${s.text}`}
              tabIndex={-1}
              id={`filter-suggestion-${i}`}
              role="option"
              aria-selected={i === active}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(s);
              }}
            >
              {s.text}
              <span className="kind">{s.kind}</span>
            </div>
          ))}
        </div>
      ) : null}
      {problem ? (
        <pre id="filter-error" className="filter-error" role="alert">
          {problem.position !== null ? `${value}\n${' '.repeat(problem.position)}^\n` : ''}
          {problem.message}
        </pre>
      ) : nameSearch ? (
        <p id="filter-hint" className="filter-hint muted">
          Searching run names for “{nameSearch}”. Filters look like <code>metadata.re &gt; 500</code>.
        </p>
      ) : null}
    </div>
  );
}

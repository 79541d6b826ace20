import type { Json } from '@simscope/protocol';
import { useEffect, useMemo, useState } from 'react';
import { checkFilter } from '../components/filter-box.js';
import { Link } from '../components/link.js';
import { LoadError, Loading } from '../components/load-state.js';
import { href, navigate } from '../router.js';
import { useSession } from '../session.js';
import { type Brushes, brushed, ParallelCoords, type SweepAxis } from '../sweep/parallel-coords.js';
import { type Cell, type Scale, scaleOf, valueAt } from '../sweep/plot.js';
import { ScatterPlot } from '../sweep/scatter-plot.js';

const STATS = ['last', 'min', 'max'] as const;
const PAGE = 50_000;

/** A column's label: the metadata path, or `name (stat)` for a metric summary. */
function columnLabel(key: string): string {
  const m = /^(last|min|max|mean):metrics\.(.*)$/.exec(key);
  if (m) return `${m[2]} (${m[1]})`;
  return key.startsWith('metadata.') ? key.slice('metadata.'.length) : key;
}

const plain = (part: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(part);

/** The filter-language field of a column: `metadata.a.b` (quoted parts where needed) or `metrics.NAME.stat`. */
function filterField(key: string): string {
  const m = /^(last|min|max|mean):metrics\.(.*)$/.exec(key);
  if (m) return `metrics.${/^[A-Za-z0-9_/.-]+$/.test(m[2] ?? '') ? m[2] : JSON.stringify(m[2])}.${m[1]}`;
  const parts = key.slice('metadata.'.length).split('.');
  return `metadata.${parts.map((p) => (plain(p) ? p : JSON.stringify(p))).join('.')}`;
}

/** The filter that keeps the runs of `base` inside every brush (numeric ranges, or the categories brushed). */
function brushFilter(base: string, axes: readonly SweepAxis[], brushes: Brushes): string {
  const parts: string[] = [];
  for (const axis of axes) {
    const range = brushes[axis.key];
    if (!range) continue;
    const field = filterField(axis.key);
    const s = axis.scale;
    if (s.kind === 'number') {
      // 12 significant digits: the ends as typed (400, not 399.99999999999994), or where the drag let go.
      const at = (p: number) => +valueAt(s, p).toPrecision(12);
      parts.push(`${field} >= ${at(range[0])} and ${field} <= ${at(range[1])}`);
    } else {
      const n = s.categories.length;
      const picked = s.categories.filter((_, i) => {
        const p = n === 1 ? 0.5 : i / (n - 1);
        return p >= range[0] && p <= range[1];
      });
      parts.push(`(${picked.map((c) => `${field} == ${JSON.stringify(c)}`).join(' or ') || 'id == ""'})`);
    }
  }
  const trimmed = base.trim();
  if (trimmed) parts.unshift(parts.length > 0 ? `(${trimmed})` : trimmed);
  return parts.join(' and ');
}

/** Numeric ranges typed in, for the keyboard: each sets the brush of its axis (empty: none). */
function BrushInputs({
  axes,
  brushes,
  setBrushes,
}: {
  axes: readonly SweepAxis[];
  brushes: Brushes;
  setBrushes: React.Dispatch<React.SetStateAction<Brushes>>;
}) {
  const numeric = axes.filter((a) => a.scale.kind === 'number' && a.scale.hi > a.scale.lo);
  if (numeric.length === 0) return null;
  const set = (axis: SweepAxis, end: 0 | 1, text: string) => {
    const s = axis.scale;
    setBrushes((b) => {
      const range: [number, number] = [...(b[axis.key] ?? [0, 1])];
      const v = Number(text);
      range[end] = text.trim() === '' || !Number.isFinite(v) ? end : (v - s.lo) / (s.hi - s.lo);
      const { [axis.key]: _, ...rest } = b;
      const lo = Math.max(0, Math.min(range[0], range[1]));
      const hi = Math.min(1, Math.max(range[0], range[1]));
      return lo <= 0 && hi >= 1 ? rest : { ...rest, [axis.key]: [lo, hi] };
    });
  };
  return (
    <details className="brush-inputs">
      <summary>Brush ranges by hand</summary>
      {numeric.map((axis) => {
        const range = brushes[axis.key];
        const shown = (end: 0 | 1) => (range ? String(+valueAt(axis.scale, range[end]).toPrecision(6)) : '');
        return (
          <fieldset key={`${axis.key}:${range?.join(',') ?? ''}`} className="chart-controls">
            <legend>{axis.label}</legend>
            <label>
              from{' '}
              <input
                type="number"
                step="any"
                defaultValue={shown(0)}
                onBlur={(e) => set(axis, 0, e.target.value)}
              />
            </label>
            <label>
              to{' '}
              <input
                type="number"
                step="any"
                defaultValue={shown(1)}
                onBlur={(e) => set(axis, 1, e.target.value)}
              />
            </label>
          </fieldset>
        );
      })}
    </details>
  );
}

const cell = (v: Json | undefined): Cell =>
  v === undefined || v === null
    ? null
    : typeof v === 'number' || typeof v === 'string'
      ? v
      : JSON.stringify(v);

interface Loaded {
  ids: string[];
  columns: Map<string, Cell[]>;
}

/**
 * A sweep at a glance: parallel coordinates over chosen metadata and metric summaries (brushing an axis narrows
 * the runs, with a link to the runs table filtered the same way), and a scatter of any column against another.
 */
export function SweepPage({
  filter,
  axes: axesParam,
  x: xParam,
  y: yParam,
}: {
  filter: string;
  axes: string | null;
  x: string | null;
  y: string | null;
}) {
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [brushes, setBrushes] = useState<Brushes>({});
  const [draft, setDraft] = useState(filter);
  useEffect(() => setDraft(filter), [filter]);

  const go = (patch: Record<string, string | null>) =>
    navigate(href('/sweep', { filter, axes: axesParam, x: xParam, y: yParam, ...patch }), true);

  const choices = useSweepChoices(filter, attempt, setError);

  const axisKeys = useMemo(() => {
    if (axesParam !== null) return axesParam.split(',').filter(Boolean);
    if (!choices) return [];
    const keys = choices.paths.slice(0, 4).map((p) => `metadata.${p}`);
    if (choices.metrics[0]) keys.push(`last:metrics.${choices.metrics[0]}`);
    return keys;
  }, [axesParam, choices]);
  const xKey = xParam ?? axisKeys[0] ?? null;
  const yKey = yParam ?? axisKeys.find((k) => k.includes(':metrics.')) ?? axisKeys[1] ?? null;
  const wanted = useMemo(
    () => [...new Set([...axisKeys, ...(xKey ? [xKey] : []), ...(yKey ? [yKey] : [])])],
    [axisKeys, xKey, yKey],
  );

  const data = useSweepData(filter, attempt, choices, wanted, setError);

  const scales = useMemo(() => {
    const out = new Map<string, Scale>();
    if (data) for (const [k, values] of data.columns) out.set(k, scaleOf(values));
    return out;
  }, [data]);
  const axes: SweepAxis[] = useMemo(
    () =>
      axisKeys.flatMap((k) => {
        const scale = scales.get(k);
        return scale ? [{ key: k, label: columnLabel(k), scale }] : [];
      }),
    [axisKeys, scales],
  );
  const count = data?.ids.length ?? 0;
  const keep = useMemo(() => brushed(axes, brushes, count), [axes, brushes, count]);
  const selectedIds = useMemo(() => {
    const out: string[] = [];
    if (data) for (let i = 0; i < count && out.length < 100; i++) if (keep[i]) out.push(data.ids[i] ?? '');
    return out;
  }, [data, keep, count]);
  const xScale = xKey ? scales.get(xKey) : undefined;
  const yScale = yKey ? scales.get(yKey) : undefined;
  const narrowed = brushFilter(filter, axes, brushes);
  const problem = draft.trim() ? checkFilter(draft) : null;

  const options = choices
    ? [
        ...choices.paths.map((p) => `metadata.${p}`),
        ...choices.metrics.flatMap((m) => STATS.map((s) => `${s}:metrics.${m}`)),
      ]
    : [];
  const picker = (label: string, value: string | null, onChange: (v: string) => void) => (
    <label>
      {label}{' '}
      <select value={value ?? ''} onChange={(e) => onChange(e.target.value)}>
        {value && !options.includes(value) ? <option value={value}>{columnLabel(value)}</option> : null}
        {options.map((o) => (
          <option key={o} value={o}>
            {columnLabel(o)}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <section aria-labelledby="sweep-heading" className="sweep-page">
      <h1 id="sweep-heading">Sweep</h1>
      <SweepFilterForm
        draft={draft}
        setDraft={setDraft}
        problem={problem}
        onApply={() => {
          setBrushes({});
          go({ filter: draft.trim() || null });
        }}
      />
      {error ? (
        <LoadError error={error} what="the sweep's runs" onRetry={() => setAttempt((a) => a + 1)} />
      ) : null}
      <AxisChips
        axisKeys={axisKeys}
        options={options}
        onRemove={(k) => {
          setBrushes(({ [k]: _, ...rest }) => rest);
          go({ axes: axisKeys.filter((a) => a !== k).join(',') });
        }}
        onAdd={(k) => go({ axes: [...axisKeys, k].join(',') })}
      />
      {!data && !error ? <Loading what="runs" /> : null}
      {data && count === 0 ? <p className="muted">No runs match this filter.</p> : null}
      {data && count > 0 && axes.length > 0 ? (
        <>
          <ParallelCoords
            axes={axes}
            count={count}
            brushes={brushes}
            onBrush={(key, range) =>
              setBrushes(({ [key]: _, ...rest }) => (range ? { ...rest, [key]: range } : rest))
            }
          />
          <BrushInputs axes={axes} brushes={brushes} setBrushes={setBrushes} />
          <SweepLinks
            narrowed={narrowed}
            selectedIds={selectedIds}
            brushed={Object.keys(brushes).length > 0}
            onClear={() => setBrushes({})}
          />
        </>
      ) : null}
      <h2>Scatter</h2>
      <div className="chart-controls">
        {picker('Across', xKey, (v) => go({ x: v }))}
        {picker('Up', yKey, (v) => go({ y: v }))}
      </div>
      {data && count > 0 && xKey && yKey && xScale && yScale ? (
        <ScatterPlot
          x={xScale}
          y={yScale}
          xLabel={columnLabel(xKey)}
          yLabel={columnLabel(yKey)}
          keep={keep}
          count={count}
        />
      ) : null}
    </section>
  );
}

/** The sweep's filter: applied (brushes cleared) only when it parses. */
function SweepFilterForm({
  draft,
  setDraft,
  problem,
  onApply,
}: {
  draft: string;
  setDraft(text: string): void;
  problem: { message: string } | null;
  onApply(): void;
}) {
  return (
    <form
      className="chart-controls"
      onSubmit={(e) => {
        e.preventDefault();
        if (!problem) onApply();
      }}
    >
      <label>
        Filter{' '}
        <input
          type="search"
          value={draft}
          size={40}
          placeholder="e.g. folder == /sweep and status == completed"
          onChange={(e) => setDraft(e.target.value)}
          aria-invalid={problem ? true : undefined}
        />
      </label>
      <button type="submit" disabled={problem !== null}>
        Apply
      </button>
      {problem ? <span className="error">{problem.message}</span> : null}
    </form>
  );
}

/** The parallel coordinates' axes: each with a button that takes it out, and a list to add one. */
function AxisChips({
  axisKeys,
  options,
  onRemove,
  onAdd,
}: {
  axisKeys: string[];
  options: string[];
  onRemove(key: string): void;
  onAdd(key: string): void;
}) {
  return (
    <fieldset className="chart-controls sweep-axes">
      <legend>Axes</legend>
      {axisKeys.map((k) => (
        <span key={k} className="axis-chip">
          {columnLabel(k)}{' '}
          <button type="button" aria-label={`Remove axis ${columnLabel(k)}`} onClick={() => onRemove(k)}>
            ×
          </button>
        </span>
      ))}
      <label>
        <span className="visually-hidden">Add an axis</span>
        <select value="" onChange={(e) => e.target.value && onAdd(e.target.value)}>
          <option value="">Add an axis…</option>
          {options
            .filter((o) => !axisKeys.includes(o))
            .map((o) => (
              <option key={o} value={o}>
                {columnLabel(o)}
              </option>
            ))}
        </select>
      </label>
    </fieldset>
  );
}

/** Links to the brushed runs in the runs table and in the compare page (the first 100), and clearing brushes. */
function SweepLinks({
  narrowed,
  selectedIds,
  brushed,
  onClear,
}: {
  narrowed: string;
  selectedIds: string[];
  brushed: boolean;
  onClear(): void;
}) {
  return (
    <p className="sweep-links">
      <Link to={href('/', { filter: narrowed || null })} data-filter={narrowed}>
        Show these runs in the runs table
      </Link>
      {selectedIds.length > 0 ? (
        <>
          {' · '}
          <Link to={href('/compare', { runs: selectedIds.join(',') })}>
            Compare {selectedIds.length < 100 ? 'them' : 'the first 100'}
          </Link>
        </>
      ) : null}
      {brushed ? (
        <>
          {' · '}
          <button type="button" onClick={onClear}>
            Clear brushes
          </button>
        </>
      ) : null}
    </p>
  );
}

type Choices = { paths: string[]; metrics: string[] };

/** The columns there are to choose from: metadata paths of the runs and the workspace's metric names. */
function useSweepChoices(filter: string, attempt: number, setError: (e: unknown) => void): Choices | null {
  const { api } = useSession();
  const [choices, setChoices] = useState<Choices | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    setError(null);
    api
      .runTable({ filter: filter || undefined, limit: 1, metricNames: true }, abort.signal)
      .then((t) => setChoices({ paths: t.metadataPaths ?? t.metadataKeys, metrics: t.metricNames ?? [] }))
      .catch((e) => !abort.signal.aborted && setError(e));
    return () => abort.abort();
  }, [api, filter, attempt]);
  return choices;
}

/** Every run of the filter with the `wanted` columns, 50k runs a page; null while loading. */
function useSweepData(
  filter: string,
  attempt: number,
  choices: Choices | null,
  wanted: string[],
  setError: (e: unknown) => void,
): Loaded | null {
  const { api } = useSession();
  const [data, setData] = useState<Loaded | null>(null);
  useEffect(() => {
    if (!choices) return;
    const abort = new AbortController();
    setData(null);
    (async () => {
      const ids: string[] = [];
      const columns = new Map<string, Cell[]>(wanted.map((k) => [k, []]));
      const table = { filter: filter || undefined, columns: wanted, limit: PAGE };
      for await (const page of api.runTablePages(table, abort.signal)) {
        ids.push(...page.id);
        for (const k of wanted) {
          const got = page.columns[k] ?? [];
          const out = columns.get(k) ?? [];
          columns.set(k, out);
          for (let i = 0; i < page.id.length; i++) out.push(cell(got[i]));
        }
      }
      setData({ ids, columns });
    })().catch((e) => !abort.signal.aborted && setError(e));
    return () => abort.abort();
  }, [api, filter, choices, wanted.join('\n'), attempt]);
  return data;
}

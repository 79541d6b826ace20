import type { ArrayDataView, ArraySeriesView, ArrayStepView } from '@simscope/protocol';
import { useEffect, useState } from 'react';
import { useSession } from '../session.js';
import { useAddressParam, useHeatmapSettings } from './field-address.js';
import { FieldCompare } from './field-compare.js';
import { useArrayView } from './field-data.js';
import { HeatmapControls } from './field-heatmap.js';
import { type HistogramLayer, HistogramPlot, LAYER_COLOURS } from './field-histogram.js';

/** Milliseconds per step in playback. */
const PLAY_MS = 400;

const numeric = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

/** A summary figure to 6 significant digits (float32 values read back as float64 show their noise). */
const figure = (v: number | null): string => (v === null ? '–' : String(Number(v.toPrecision(6))));

function finiteRange(values: readonly number[]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo > hi ? [0, 1] : [lo, hi];
}

/** A 1-D profile as a line in an SVG. */
function Profile({ data }: { data: ArrayDataView }) {
  const values = data.values.map(numeric);
  const [lo, hi] = finiteRange(values);
  const [w, h] = [600, 240];
  const y = (v: number) => h - ((v - lo) / (hi - lo || 1)) * (h - 10) - 5;
  const points = values
    .map((v, i) => (Number.isFinite(v) ? `${(i / Math.max(values.length - 1, 1)) * w},${y(v)}` : null))
    .filter((p) => p !== null)
    .join(' ');
  return (
    <svg viewBox={`0 0 ${w} ${h}`} className="field-plot" role="img" aria-label={`profile of ${data.name}`}>
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth={1.5} />
    </svg>
  );
}

/** A histogram at the shown step, with a picker of a second step drawn beside it. */
function HistogramView({
  run,
  data,
  steps,
  edges,
  onError,
}: {
  run: string;
  data: ArrayDataView;
  steps: readonly ArrayStepView[];
  edges: readonly number[];
  onError: (message: string) => void;
}) {
  const { api } = useSession();
  // `overlay=STEP` in the address.
  const [param, setParam] = useAddressParam('overlay');
  const other = param !== null && /^\d+$/.test(param) ? Number(param) : null;
  const second = useArrayView(
    api,
    run,
    steps.find((s) => s.step === other),
    onError,
  );
  const layers: HistogramLayer[] = [
    { label: `step ${data.step}`, values: data.values.map(numeric), colour: LAYER_COLOURS[0] },
  ];
  if (second && other !== null && second.step === other && second.name === data.name) {
    layers.push({
      label: `step ${second.step}`,
      values: second.values.map(numeric),
      colour: LAYER_COLOURS[1],
    });
  }
  return (
    <>
      {steps.length > 1 && (
        <label className="fields-controls">
          Overlay step{' '}
          <select
            value={other === null ? '' : String(other)}
            onChange={(e) => setParam(e.target.value || null)}
          >
            <option value="">none</option>
            {steps.map((s) => (
              <option key={s.step} value={s.step}>
                {s.step}
              </option>
            ))}
          </select>
        </label>
      )}
      <HistogramPlot name={data.name} edges={edges} layers={layers} />
    </>
  );
}

/** Steps through `count` steps every PLAY_MS while playing, stopping at the last. */
function usePlayback(count: number, setIndex: (update: (i: number) => number) => void) {
  const [playing, setPlaying] = useState(false);
  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => {
      setIndex((i) => {
        if (i + 1 >= count) {
          setPlaying(false);
          return i;
        }
        return i + 1;
      });
    }, PLAY_MS);
    return () => clearInterval(timer);
  }, [playing, count, setIndex]);
  return [playing, setPlaying] as const;
}

/** A run's array series: pick one, move through its steps with a slider; 1-D as a line, 2-D as a heatmap. */
export function FieldsPanel({ run }: { run: string }) {
  const { api } = useSession();
  const [series, setSeries] = useState<ArraySeriesView[] | null>(null);
  const [name, setName] = useState<string | null>(null);
  const [steps, setSteps] = useState<ArrayStepView[]>([]);
  const [index, setIndex] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [settings, setSettings] = useHeatmapSettings();

  useEffect(() => {
    api.call('listArrays', { params: { run }, query: { limit: 1000 } }).then(
      (page) => {
        const items = page.items as ArraySeriesView[];
        setSeries(items);
        setName((n) => n ?? items[0]?.name ?? null);
      },
      (e: unknown) => setError(String(e)),
    );
  }, [api, run]);

  useEffect(() => {
    if (name === null) return;
    api.call('listArrays', { params: { run }, query: { name, limit: 1000 } }).then(
      (page) => {
        const items = page.items as ArrayStepView[];
        setSteps(items);
        setIndex(items.length - 1);
      },
      (e: unknown) => setError(String(e)),
    );
  }, [api, run, name]);

  const [playing, setPlaying] = usePlayback(steps.length, setIndex);
  const current = steps[index];
  const data = useArrayView(api, run, current, setError);

  if (error) return <p role="alert">{error}</p>;
  if (series === null) return <p>Loading…</p>;
  if (series.length === 0) return <p>No arrays logged in this run.</p>;
  const edges = current?.axes?.[0]?.edges;
  const shown = data && current && data.name === current.name ? data : null;
  return (
    <section className="fields-panel" aria-label="Fields">
      <div className="fields-controls">
        <label>
          Array{' '}
          <select value={name ?? ''} onChange={(e) => setName(e.target.value)}>
            {series.map((s) => (
              <option key={s.name} value={s.name}>
                {s.name} ({s.shape.join('×')} {s.dtype})
              </option>
            ))}
          </select>
        </label>
        {steps.length > 0 && (
          <label>
            Step{' '}
            <input
              type="range"
              aria-label="step"
              min={0}
              max={steps.length - 1}
              value={index}
              onChange={(e) => setIndex(Number(e.target.value))}
            />{' '}
            <output aria-label="shown step">{current?.step}</output>
          </label>
        )}
        {steps.length > 1 && (
          <button
            type="button"
            onClick={() => {
              if (!playing && index >= steps.length - 1) setIndex(0);
              setPlaying(!playing);
            }}
          >
            {playing ? 'Pause' : 'Play'}
          </button>
        )}
      </div>
      {current && (
        <p className="fields-summary">
          step {current.step}
          {current.time === null ? '' : ` · t = ${current.time}`} · min {figure(current.min)} · max{' '}
          {figure(current.max)} · mean {figure(current.mean)}
        </p>
      )}
      {shown && current && shown.shape.length >= 2 && (
        <>
          <HeatmapControls settings={settings} onChange={setSettings} />
          <FieldCompare
            run={run}
            data={shown}
            current={current}
            steps={steps}
            settings={settings}
            onError={setError}
          />
        </>
      )}
      {shown && shown.shape.length < 2 && edges && (
        <HistogramView run={run} data={shown} steps={steps} edges={edges} onError={setError} />
      )}
      {shown && shown.shape.length < 2 && !edges && <Profile data={shown} />}
    </section>
  );
}

import type { PlacedMarkers } from '../chart/event-markers.js';
import { formatTime } from '../format.js';

/** A metric added to a chart, on the left y axis or on a right one of its own scale. */
export interface ChartOverlay {
  metric: string;
  right: boolean;
}

/** Metrics a chart takes besides its own, so that a chart stays readable. */
export const OVERLAY_CAP = 8;

/**
 * The metrics added to a chart, each with a right-axis switch and a remove button, and a picker of the run's
 * other metrics to add one.
 */
export function ChartMetricPicker(props: {
  label: string;
  metric: string;
  extra: readonly ChartOverlay[];
  available: readonly string[];
  onChange(extra: ChartOverlay[]): void;
}) {
  const { label, extra, onChange } = props;
  const taken = new Set([props.metric, ...extra.map((e) => e.metric)]);
  const choices = props.available.filter((m) => !taken.has(m));
  return (
    <div className="chart-metrics">
      {extra.map((e, i) => (
        <span key={e.metric} className="chart-metric">
          {e.metric}{' '}
          <label title="Draw this metric against a y axis of its own on the right">
            <input
              type="checkbox"
              checked={e.right}
              aria-label={`${e.metric} on the right axis of ${label}`}
              onChange={(ev) =>
                onChange(extra.map((x, k) => (k === i ? { ...x, right: ev.target.checked } : x)))
              }
            />{' '}
            right axis
          </label>{' '}
          <button
            type="button"
            aria-label={`Remove ${e.metric} from ${label}`}
            onClick={() => onChange(extra.filter((_, k) => k !== i))}
          >
            ×
          </button>
        </span>
      ))}
      {choices.length > 0 && extra.length < OVERLAY_CAP ? (
        <select
          aria-label={`Add a metric to ${label}`}
          value=""
          onChange={(ev) => {
            if (ev.target.value) onChange([...extra, { metric: ev.target.value, right: false }]);
          }}
        >
          <option value="">+ metric…</option>
          {choices.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      ) : null}
    </div>
  );
}

/** What the event markers show: how many, how many more are left out, and those with no place on the axis. */
export function MarkerNote({ placed, metric }: { placed: PlacedMarkers | null; metric: string }) {
  if (!placed) return null;
  const { markers, more, moreUnknown, unmapped } = placed;
  const parts = [`${markers.length.toLocaleString('en')} event${markers.length === 1 ? '' : 's'}`];
  if (more > 0) {
    parts.push(`${more.toLocaleString('en')}${moreUnknown ? '+' : ''} more not drawn (filter or zoom in)`);
  }
  if (unmapped > 0) parts.push(`${unmapped.toLocaleString('en')} outside the span of ${metric}, not drawn`);
  return (
    <span className="muted" data-testid="marker-note">
      {parts.join(' · ')}
    </span>
  );
}

/** The event under the pointer: its time, level and message. */
export function EventTip({
  at,
  event,
}: {
  at: number;
  event: { timestamp: number; level: string; message: string };
}) {
  return (
    <div className="event-tip" role="tooltip" style={{ left: at }}>
      <strong>{formatTime(event.timestamp)}</strong> {event.level}
      <br />
      {event.message.length > 300 ? `${event.message.slice(0, 300)}…` : event.message}
    </div>
  );
}

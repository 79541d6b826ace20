import { href, navigate } from '../router.js';
import type { ChartOverlay } from './chart-metric-picker.js';
import { type ChartRun, type ChartSettings, MetricChart } from './metric-chart.js';
import { overlaysFromQuery, overlaysToQuery } from './run-chart-state.js';

const NONE: readonly ChartOverlay[] = [];

/**
 * A chart of one metric of several runs that takes more metrics from a picker of `available`, kept in the
 * address's `with` parameter (as on the run page) beside whatever else the page keeps there.
 */
export function OverlayChart(props: {
  metric: string;
  runs: ChartRun[];
  settings: ChartSettings;
  available: readonly string[];
}) {
  const { metric } = props;
  const extra = overlaysFromQuery(new URLSearchParams(window.location.search).get('with'))[metric] ?? NONE;
  const change = (next: ChartOverlay[]) => {
    const q = Object.fromEntries(new URLSearchParams(window.location.search));
    q.with = overlaysToQuery(next.length > 0 ? { [metric]: next } : {}) ?? '';
    navigate(href(window.location.pathname, q), true);
  };
  return (
    <MetricChart
      metric={metric}
      runs={props.runs}
      settings={props.settings}
      extra={extra}
      onExtraChange={change}
      available={props.available}
    />
  );
}

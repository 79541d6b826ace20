import type { SmoothingKind } from '../chart/columns.js';
import type { ChartSettings } from './metric-chart.js';

/** The x axis, log scale and smoothing controls that every chart view shares. */
export function ChartSettingsControls({
  settings,
  set,
}: {
  settings: ChartSettings;
  set: (patch: Partial<ChartSettings>) => void;
}) {
  return (
    <>
      <label>
        x axis{' '}
        <select
          value={settings.axis}
          onChange={(e) => set({ axis: e.target.value as ChartSettings['axis'] })}
        >
          <option value="step">step</option>
          <option value="time">time since start</option>
          <option value="timestamp">date and time</option>
        </select>
      </label>
      <label>
        <input type="checkbox" checked={settings.log} onChange={(e) => set({ log: e.target.checked })} /> log
        scale
      </label>
      <label>
        smoothing{' '}
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={settings.smoothing}
          onChange={(e) => set({ smoothing: Number(e.target.value) })}
        />{' '}
        <output>{settings.smoothing.toFixed(2)}</output>
      </label>
      <label>
        by{' '}
        <select
          aria-label="smoothing kind"
          value={settings.smoothingKind ?? 'ema'}
          onChange={(e) => set({ smoothingKind: e.target.value as SmoothingKind })}
        >
          <option value="ema">EMA</option>
          <option value="time-ema">time-weighted EMA</option>
          <option value="mean">running average</option>
          <option value="gauss">Gaussian</option>
        </select>
      </label>
      <label title="Fit the y axis to the 1st to 99th percentile of the values shown">
        <input
          type="checkbox"
          checked={settings.ignoreOutliers ?? false}
          onChange={(e) => set({ ignoreOutliers: e.target.checked })}
        />{' '}
        ignore outliers
      </label>
    </>
  );
}

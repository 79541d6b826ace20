import { href, navigate, useLocation } from '../router.js';
import { type HeatmapSettings, settingsFromQuery, settingsToQuery } from './field-colours.js';

/** Replaces `changes` in the address's parameters, keeping the others (no new history entry). */
function replaceParams(changes: Record<string, string | null>): void {
  const q: Record<string, string | null> = Object.fromEntries(new URLSearchParams(window.location.search));
  navigate(href(window.location.pathname, { ...q, ...changes }), true);
}

/** The heatmap settings kept in the address beside the page's other parameters. */
export function useHeatmapSettings(): [HeatmapSettings, (next: HeatmapSettings) => void] {
  const { query } = useLocation();
  return [settingsFromQuery(query), (next) => replaceParams(settingsToQuery(next))];
}

/** One parameter of the address (null when absent), and a setter that keeps the others. */
export function useAddressParam(name: string): [string | null, (value: string | null) => void] {
  const { query } = useLocation();
  return [query.get(name), (value) => replaceParams({ [name]: value })];
}

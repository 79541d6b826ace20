import type { ArrayDataView, ArrayStepView, RunView } from '@simscope/protocol';
import { useEffect, useState } from 'react';
import type { Api } from '../api.js';
import { useSession } from '../session.js';
import { useAddressParam } from './field-address.js';
import { type HeatmapSettings, rangeOf } from './field-colours.js';
import { useArrayView, viewStrides } from './field-data.js';
import { Heatmap } from './field-heatmap.js';

/** How many runs of the workspace with the same array series (newest first) the compare picker offers. */
const CANDIDATE_RUNS = 100;

/** Another run that has the array series, with its steps. */
interface Peer {
  id: string;
  name: string;
  steps: ArrayStepView[];
}

/** The newest runs of the workspace, other than `run`, that have the array series `name`, with its steps. */
function usePeers(api: Api, run: string, name: string, onError: (message: string) => void): Peer[] {
  const [peers, setPeers] = useState<Peer[]>([]);
  useEffect(() => {
    const abort = new AbortController();
    const signal = abort.signal;
    (async () => {
      // A step with a finite element writes the summary metric `NAME.min`: runs without it have no such series.
      const filter = `metrics.${JSON.stringify(`${name}.min`)}.count exists`;
      const page = await api.call('listRuns', { query: { filter, limit: CANDIDATE_RUNS }, signal });
      const others = (page.items as RunView[]).filter((r) => r.id !== run);
      const found = await Promise.all(
        others.map(async (r) => {
          const steps = await api.call('listArrays', {
            params: { run: r.id },
            query: { name, limit: 1000 },
            signal,
          });
          return { id: r.id, name: r.name, steps: steps.items as ArrayStepView[] };
        }),
      );
      if (!signal.aborted) setPeers(found.filter((p) => p.steps.length > 0));
    })().catch((e: unknown) => signal.aborted || onError(String(e)));
    return () => abort.abort();
  }, [api, run, name, onError]);
  return peers;
}

/** The step of `steps` at `step`, or the nearest one. */
function nearestStep(steps: readonly ArrayStepView[], step: number): ArrayStepView | undefined {
  let best: ArrayStepView | undefined;
  for (const s of steps) if (!best || Math.abs(s.step - step) < Math.abs(best.step - step)) best = s;
  return best;
}

/**
 * The shown step's heatmap, and with a run picked from the others that have the same array series, that run's
 * heatmap at the same (or nearest) step beside it, both over one colour range.
 */
export function FieldCompare({
  run,
  data,
  current,
  steps,
  settings,
  onError,
}: {
  run: string;
  data: ArrayDataView;
  current: ArrayStepView;
  steps: readonly ArrayStepView[];
  settings: HeatmapSettings;
  onError: (message: string) => void;
}) {
  const { api } = useSession();
  const peers = usePeers(api, run, current.name, onError);
  // `vs=RUN` in the address.
  const [peerId, setPeerId] = useAddressParam('vs');
  const peer = peers.find((p) => p.id === peerId);
  const peerStep = peer ? nearestStep(peer.steps, current.step) : undefined;
  const peerData = useArrayView(api, peer?.id ?? null, peerStep, onError);
  const shownPeer = peerData && peerStep && peerData.step === peerStep.step && peerData.name === current.name;
  const range = peerStep
    ? rangeOf(current, settings.fixed ? [...steps, ...(peer?.steps ?? [])] : [current, peerStep], true)
    : rangeOf(current, steps, settings.fixed);
  return (
    <>
      {peers.length > 0 && (
        <label className="fields-controls">
          Compare with run{' '}
          <select value={peerId ?? ''} onChange={(e) => setPeerId(e.target.value || null)}>
            <option value="">none</option>
            {peers.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <div className="field-compare">
        <Heatmap
          data={data}
          range={range}
          strides={viewStrides(current.shape)}
          settings={settings}
          label={peer ? 'this run' : undefined}
        />
        {peer && peerStep && peerData && shownPeer && (
          <Heatmap
            data={peerData}
            range={range}
            strides={viewStrides(peerStep.shape)}
            settings={settings}
            label={peer.name}
          />
        )}
      </div>
    </>
  );
}

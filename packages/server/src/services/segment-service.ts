import type { SegmentView } from '@simscope/protocol';
import type { SegmentRecord } from '../store/segment-store.js';
import type { RunRecord } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { NotFoundError } from './errors.js';
import { runView } from './run-service.js';

/** `POST /runs/:run/segments`, as the route's body schema gives it. */
interface SegmentInput {
  rewindTo?: number;
  jobId?: string;
  host?: string;
}

function segmentView(s: SegmentRecord): SegmentView {
  return {
    number: s.number,
    jobId: s.jobId,
    host: s.host,
    rewindTo: s.rewindTo,
    started: s.startedAt,
    ended: s.endedAt,
    status: s.status,
  };
}

/**
 * Restart chains: a run continues in a new job as a new segment; one that restarts from a checkpoint supersedes
 * the earlier segments' points past that step (hidden from reads, summaries and alerts, kept on disk).
 */
export class SegmentService {
  async start(ctx: ServiceContext, run: RunRecord, input: SegmentInput) {
    const { segment, rewound } = await ctx.store.segments.startSegment(run.pk, {
      jobId: input.jobId ?? null,
      host: input.host ?? null,
      rewindTo: input.rewindTo ?? null,
      at: ctx.now(),
    });
    // Each series' summary (last value, extremes, mean) is made again from the points still visible.
    for (const seriesPk of rewound) await ctx.store.metrics.recomputeSummary(seriesPk);
    const updated = await ctx.store.runs.getRun(run.workspaceId, run.id);
    if (!updated) throw new NotFoundError('run', run.name);
    const view = runView(updated);
    ctx.bus.publish({ type: 'run.changed', workspaceId: run.workspaceId, run: view });
    return { run: view, segment: segmentView(segment) };
  }

  async list(ctx: ServiceContext, run: RunRecord): Promise<{ segments: SegmentView[] }> {
    return { segments: (await ctx.store.segments.listSegments(run.pk)).map(segmentView) };
  }
}

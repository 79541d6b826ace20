import { apiRoute } from '@simscope/protocol';
import { RankService } from '../../services/rank-service.js';
import { SegmentService } from '../../services/segment-service.js';
import type { RouteKit } from './kit.js';

/** HPC runs: restart segments and MPI ranks. */
export function registerHpcRoutes({ register, ctx, runOf }: RouteKit): void {
  const segments = new SegmentService();
  const ranks = new RankService();
  register(apiRoute('startSegment'), async ({ input, request }) =>
    segments.start(ctx(request), await runOf(request), input.body),
  );
  register(apiRoute('listSegments'), async ({ request }) =>
    segments.list(ctx(request), await runOf(request)),
  );
  register(apiRoute('listRankedMetrics'), async ({ request }) =>
    ranks.metrics(ctx(request), await runOf(request)),
  );
  register(apiRoute('readRankSeries'), async ({ input, request }) =>
    ranks.series(ctx(request), await runOf(request), input.query),
  );
  register(apiRoute('readStragglers'), async ({ input, request }) =>
    ranks.stragglers(ctx(request), await runOf(request), input.query),
  );
}

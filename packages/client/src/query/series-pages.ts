import { MSGPACK_TYPE, paginate } from '@simscope/protocol';
import { Unpackr } from 'msgpackr';
import type { HttpTransport, RetryOptions } from '../http-transport.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** One page of `readSeries` in msgpack: each asked column as little-endian bytes. */
type SeriesPage = Partial<Record<'steps' | 'times' | 'timestamps' | 'values', Uint8Array>>;

/** The pages of one metric of one run at full fidelity, each as its msgpack columns. */
export async function* seriesPages(
  transport: HttpTransport,
  run: string,
  query: { name: string; columns?: string; limit?: number | undefined },
  retries?: Partial<RetryOptions>,
): AsyncGenerator<SeriesPage> {
  const pages = paginate(async (next) => {
    const raw = await transport.call('readSeries', {
      params: { run },
      query: { ...query, next: next ?? undefined },
      accept: MSGPACK_TYPE,
      retries,
    });
    const page = unpackr.unpack(raw) as SeriesPage & { next: string | null };
    return { items: [page], next: page.next };
  });
  for await (const page of pages) yield* page;
}

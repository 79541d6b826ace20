import { apiRoute } from '@simscope/protocol';
import type { BlobStore } from '../../blob/blob-store.js';
import { readArrayCell } from '../../services/array-cell.js';
import { ArrayExportService } from '../../services/array-export-service.js';
import { blobStoreOf } from '../../services/array-service.js';
import { contentDisposition } from './artifacts-routes.js';
import type { RouteKit } from './kit.js';

/** Registers the routes over a whole array series: one cell through the steps, and HDF5 exports. */
export function registerArrayFieldRoutes(
  { register, ctx, runOf }: RouteKit,
  blobs: BlobStore | null | undefined,
): void {
  const exports = new ArrayExportService({ blobs });
  register(apiRoute('readArrayCell'), async function readCell({ input, request }) {
    return readArrayCell(ctx(request), blobStoreOf(blobs ?? null), await runOf(request), input.query);
  });
  register(apiRoute('exportArrays'), async function exportArrays({ input, request, reply }) {
    const started = await exports.start(ctx(request), await runOf(request), input.query.name);
    return reply.status(202).send(started);
  });
  register(apiRoute('getArrayExport'), async ({ input, request }) =>
    exports.view(await runOf(request), input.params.export),
  );
  register(apiRoute('readArrayExport'), async function readExport({ input, request, reply }) {
    const file = exports.file(await runOf(request), input.params.export);
    return reply
      .type('application/x-hdf5')
      .header('content-disposition', contentDisposition(`${file.name}.h5`))
      .header('content-length', file.bytes)
      .send(file.stream);
  });
}

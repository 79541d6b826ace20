import type { RouteSpec } from './routes.js';

/** Routes of array series beyond one step: a cell through the steps and HDF5 exports. */
export const FIELD_ROUTES = {
  readArrayCell: {
    method: 'GET',
    path: '/runs/:run/arrays/cell',
    scope: 'read',
    summary:
      'The value of one element of an array series at each step, in step order (JSON; NaN and Infinity as strings)',
    query: {
      name: 'array series name',
      cell: "the element's index per dimension, such as '12,40' (negative counts from the end)",
      from: 'first step (default 0)',
      limit: 'steps per page (default 1000)',
      next: 'cursor',
    },
  },
  exportArrays: {
    method: 'POST',
    path: '/runs/:run/arrays/exports',
    scope: 'read',
    summary:
      'Start writing a whole array series to an HDF5 file (the recorder layout: NAME/data [steps, …shape], NAME/step, NAME/time); answers 202 with the export to poll',
    query: { name: 'array series name' },
  },
  getArrayExport: {
    method: 'GET',
    path: '/runs/:run/arrays/exports/:export',
    scope: 'read',
    summary: 'Progress of an HDF5 export: steps written of steps, state running, done or failed',
  },
  readArrayExport: {
    method: 'GET',
    path: '/runs/:run/arrays/exports/:export/file',
    scope: 'read',
    summary: 'The finished HDF5 file of an export (application/x-hdf5); 409 while it is still running',
  },
} as const satisfies Record<string, RouteSpec>;

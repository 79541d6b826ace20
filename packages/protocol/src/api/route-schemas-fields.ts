import { z } from 'zod';
import { arrayNameProblem } from '../arrays.js';
import { SimscopeError } from '../errors.js';
import { limitParam, queryParam } from './query-params.js';

/** `name`: a required array series name. */
export const arrayNameParam = () =>
  queryParam((text) => {
    if (text === undefined || text === '')
      throw new SimscopeError('invalid_field', 'required, an array series name');
    const problem = arrayNameProblem(text);
    if (problem) throw new SimscopeError('invalid_field', problem);
    return text;
  });

/** `step`: a whole number ≥ 0, or null when absent and not required. */
export const arrayStepParam = (required: boolean) =>
  queryParam((text): number | null => {
    if (text === undefined || text === '') {
      if (required) throw new SimscopeError('invalid_field', 'required, a whole number ≥ 0');
      return null;
    }
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
      throw new SimscopeError('invalid_field', `must be a whole number ≥ 0, got '${text.slice(0, 40)}'`);
    return n;
  });

const cellParam = () =>
  queryParam((text) => {
    if (text === undefined || text === '')
      throw new SimscopeError('invalid_field', "required, an index per dimension such as '12,40'");
    if (!/^\s*-?\d+\s*(,\s*-?\d+\s*){0,2}$/.test(text))
      throw new SimscopeError(
        'invalid_field',
        `must be 1 to 3 whole numbers such as '12,40', got '${text.slice(0, 40)}'`,
      );
    return text.split(',').map((part) => Number(part));
  });

/** Schemas of the routes in `routes-fields.ts`. */
export const FIELD_ROUTE_SCHEMAS = {
  readArrayCell: {
    querySchema: z.object({
      name: arrayNameParam(),
      cell: cellParam(),
      from: arrayStepParam(false),
      limit: limitParam(1000, 1000),
      next: z.string().optional(),
    }),
  },
  exportArrays: { querySchema: z.object({ name: arrayNameParam() }) },
};

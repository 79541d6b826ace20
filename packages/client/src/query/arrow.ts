import type * as Arrow from 'apache-arrow';
import { ClientError } from '../errors.js';
import type { Column } from './columns.js';

export type ArrowModule = typeof Arrow;
export type ArrowTable = Arrow.Table;

let loading: Promise<ArrowModule> | undefined;

/**
 * Loads `apache-arrow`, an optional peer dependency, on first use. Throws a `missing_dependency` error that
 * says how to install it when it is not there.
 */
export function loadArrow(): Promise<ArrowModule> {
  loading ??= importArrow(() => import('apache-arrow')).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/** Runs `importer`, turning "module not found" into a `missing_dependency` error. */
export async function importArrow(importer: () => Promise<unknown>): Promise<ArrowModule> {
  try {
    return (await importer()) as ArrowModule;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ClientError(
        'missing_dependency',
        "toArrow() needs the optional package 'apache-arrow': npm install apache-arrow",
        0,
        { cause: error },
      );
    }
    throw error;
  }
}

/** A validity bitmap (bit set: a value) and the null count, or none when every value is there. */
function validity(values: ArrayLike<unknown>): { nullBitmap?: Uint8Array; nullCount: number } {
  let nullCount = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === null || values[i] === undefined) nullCount++;
  if (nullCount === 0) return { nullCount };
  const nullBitmap = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== null && values[i] !== undefined)
      nullBitmap[i >> 3] = (nullBitmap[i >> 3] ?? 0) | (1 << (i & 7));
  }
  return { nullBitmap, nullCount };
}

function int64(values: ArrayLike<unknown>): BigInt64Array {
  if (values instanceof BigInt64Array) return values;
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) out[i] = BigInt(Math.round(Number(v)));
  }
  return out;
}

function float64(values: ArrayLike<unknown>): Float64Array {
  if (values instanceof Float64Array) return values;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v === null || v === undefined ? 0 : Number(v);
  }
  return out;
}

/** An Arrow vector of one column, typed by its kind. */
function columnVector(arrow: ArrowModule, column: Column): Arrow.Vector {
  const values = column.values as readonly unknown[];
  const length = values.length;
  switch (column.kind) {
    case 'int':
      return arrow.makeVector(
        arrow.makeData({ type: new arrow.Int64(), length, data: int64(values), ...validity(values) }),
      );
    case 'float':
      return arrow.makeVector(
        arrow.makeData({ type: new arrow.Float64(), length, data: float64(values), ...validity(values) }),
      );
    case 'time':
      return arrow.makeVector(
        arrow.makeData({
          type: new arrow.TimestampMicrosecond('UTC'),
          length,
          data: int64(values),
          ...validity(values),
        }),
      );
    case 'bool':
      return arrow.vectorFromArray(values as (boolean | null)[], new arrow.Bool());
    case 'category':
      return arrow.vectorFromArray(
        values as (string | null)[],
        new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()),
      );
    case 'strings':
      return arrow.vectorFromArray(
        values as (string[] | null)[],
        new arrow.List(new arrow.Field('item', new arrow.Utf8(), true)),
      );
    default:
      return arrow.vectorFromArray(values as (string | null)[], new arrow.Utf8());
  }
}

/** A table of columns, in order. */
export function tableOf(arrow: ArrowModule, columns: readonly Column[]): Arrow.Table {
  const vectors: Record<string, Arrow.Vector> = {};
  for (const column of columns) vectors[column.name] = columnVector(arrow, column);
  return new arrow.Table(vectors);
}

/** A dictionary-encoded text column from ready indices (no nulls). */
export function dictionaryVector(
  arrow: ArrowModule,
  words: readonly string[],
  indices: Int32Array,
): Arrow.Vector {
  return arrow.makeVector(
    arrow.makeData({
      type: new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()),
      length: indices.length,
      nullCount: 0,
      data: indices,
      dictionary: arrow.vectorFromArray(words as string[], new arrow.Utf8()),
    }),
  );
}

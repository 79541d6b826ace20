import { RecorderError, TypeMismatchError } from './errors.js';

/** Element types of numeric values, named after NumPy's. */
export const DTYPES = [
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
] as const;

export type DType = (typeof DTYPES)[number];

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** An n-dimensional array: `data` in row-major (C) order, `shape` the size of each axis. */
export interface NdArray<T extends TypedArray = TypedArray> {
  data: T;
  shape: number[];
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Anything a recorder stores: numbers, bigints, booleans, strings, JSON values, TypedArrays, n-d arrays. */
export type Value = number | bigint | boolean | string | TypedArray | NdArray | JsonValue;

/**
 * How a value is stored and given back. `typed` is a bare TypedArray (1-D), `ndarray` an
 * `{ data, shape }` pair; `json` is any other JSON value, stored as text.
 */
export const VALUE_KINDS = ['number', 'bigint', 'boolean', 'string', 'json', 'typed', 'ndarray'] as const;

export type ValueKind = (typeof VALUE_KINDS)[number];

/** The type every value under one key shares: kind, dtype (numeric kinds only) and shape. */
export interface ValueType {
  readonly kind: ValueKind;
  readonly dtype: DType | null;
  readonly shape: readonly number[];
}

/** A value checked and reduced to what a datastore writes: raw little-endian bytes or text. */
export interface EncodedValue {
  readonly type: ValueType;
  /** Raw bytes for numeric and boolean kinds; a view over the caller's memory, not a copy. */
  readonly bytes: Uint8Array | null;
  /** UTF-16 text for `string` and `json` kinds. */
  readonly text: string | null;
}

type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

const ARRAY_TYPES: Record<DType, TypedArrayConstructor> = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};

const SCALAR_NUMBER: ValueType = Object.freeze({
  kind: 'number',
  dtype: 'float64',
  shape: Object.freeze([]),
});
const SCALAR_BIGINT: ValueType = Object.freeze({ kind: 'bigint', dtype: 'int64', shape: Object.freeze([]) });
const SCALAR_BOOLEAN: ValueType = Object.freeze({
  kind: 'boolean',
  dtype: 'uint8',
  shape: Object.freeze([]),
});
const STRING_TYPE: ValueType = Object.freeze({ kind: 'string', dtype: null, shape: Object.freeze([]) });
const JSON_TYPE: ValueType = Object.freeze({ kind: 'json', dtype: null, shape: Object.freeze([]) });

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The bytes of one element of `dtype`. */
export function itemSize(dtype: DType): number {
  return ARRAY_TYPES[dtype].BYTES_PER_ELEMENT;
}

/** The number of elements in an array of `shape`. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes per value for numeric and boolean kinds; `null` for strings and JSON. */
export function valueByteLength(type: ValueType): number | null {
  return type.dtype === null ? null : itemSize(type.dtype) * elementCount(type.shape);
}

function isTypedArray(value: unknown): value is TypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

export function dtypeOf(array: TypedArray): DType {
  if (array instanceof Float64Array) return 'float64';
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Int32Array) return 'int32';
  if (array instanceof Uint8Array || array instanceof Uint8ClampedArray) return 'uint8';
  if (array instanceof Int8Array) return 'int8';
  if (array instanceof Int16Array) return 'int16';
  if (array instanceof Uint16Array) return 'uint16';
  if (array instanceof Uint32Array) return 'uint32';
  if (array instanceof BigInt64Array) return 'int64';
  if (array instanceof BigUint64Array) return 'uint64';
  throw new RecorderError('invalid_value', `unsupported TypedArray ${Object.prototype.toString.call(array)}`);
}

/** Checks a value and returns its type with the bytes or text a datastore writes. */
export function encodeValue(value: unknown): EncodedValue {
  switch (typeof value) {
    case 'number':
      return { type: SCALAR_NUMBER, bytes: new Uint8Array(Float64Array.of(value).buffer), text: null };
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) {
        throw new RecorderError('invalid_value', `bigint ${value} does not fit in int64`);
      }
      return { type: SCALAR_BIGINT, bytes: new Uint8Array(BigInt64Array.of(value).buffer), text: null };
    case 'boolean':
      return { type: SCALAR_BOOLEAN, bytes: Uint8Array.of(value ? 1 : 0), text: null };
    case 'string':
      if (value.includes('\0')) {
        throw new RecorderError(
          'invalid_value',
          'strings with a NUL character cannot be stored (HDF5 ends them there)',
        );
      }
      return { type: STRING_TYPE, bytes: null, text: value };
    case 'object': {
      if (value === null) return { type: JSON_TYPE, bytes: null, text: 'null' };
      if (isTypedArray(value)) {
        const type: ValueType = { kind: 'typed', dtype: dtypeOf(value), shape: [value.length] };
        return { type, bytes: bytesOf(value), text: null };
      }
      if (isNdArrayLike(value)) return encodeNdArray(value);
      assertJson(value, []);
      return { type: JSON_TYPE, bytes: null, text: JSON.stringify(value) };
    }
    default:
      throw new RecorderError('invalid_value', `cannot record a value of type ${typeof value}`);
  }
}

/** Raw bytes of a TypedArray, without copying. */
export function bytesOf(array: TypedArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * A TypedArray of `dtype` over `bytes`: a view when the bytes are aligned and `share` is set,
 * otherwise a copy.
 */
function typedArrayFromBytes(dtype: DType, bytes: Uint8Array, share = true): TypedArray {
  const Ctor = ARRAY_TYPES[dtype];
  const size = Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) {
    throw new RecorderError('invalid_value', `${bytes.byteLength} bytes are not a whole number of ${dtype}`);
  }
  if (share && bytes.byteOffset % size === 0) {
    return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Ctor(copy.buffer, 0, bytes.byteLength / size);
}

/** A new, empty TypedArray of `dtype` with `length` elements. */
export function allocateTyped(dtype: DType, length: number): TypedArray {
  return new ARRAY_TYPES[dtype](length);
}

/** Rebuilds one value of `type` from its bytes (numeric and boolean kinds). */
export function decodeBytes(type: ValueType, bytes: Uint8Array, share = true): Value {
  if (type.dtype === null) throw new RecorderError('unsupported', `kind ${type.kind} is not stored as bytes`);
  const array = typedArrayFromBytes(type.dtype, bytes, share);
  return splitBlock(type, array, 1)[0] as Value;
}

/** Rebuilds one value of `type` from its text (string and JSON kinds). */
export function decodeText(type: ValueType, text: string): Value {
  if (type.kind === 'json') return JSON.parse(text) as JsonValue;
  return text;
}

/**
 * Splits `count` consecutive values of `type` laid out in `block` into values; arrays come
 * back as views over `block`.
 */
export function splitBlock(type: ValueType, block: TypedArray, count: number): Value[] {
  const out: Value[] = new Array(count);
  switch (type.kind) {
    case 'number':
      for (let i = 0; i < count; i++) out[i] = Number(block[i]);
      return out;
    case 'bigint':
      for (let i = 0; i < count; i++) out[i] = BigInt(block[i] as bigint | number);
      return out;
    case 'boolean':
      for (let i = 0; i < count; i++) out[i] = block[i] !== 0 && block[i] !== 0n;
      return out;
    case 'typed':
    case 'ndarray': {
      const per = elementCount(type.shape);
      for (let i = 0; i < count; i++) {
        const data = block.subarray(i * per, (i + 1) * per);
        out[i] = type.kind === 'typed' ? data : { data, shape: [...type.shape] };
      }
      return out;
    }
    default:
      throw new RecorderError('unsupported', `kind ${type.kind} is not stored as bytes`);
  }
}

/** Throws a mismatch error when `incoming` cannot join values of type `existing` under `key`. */
export function assertSameType(key: string, existing: ValueType, incoming: ValueType): void {
  if (existing.kind !== incoming.kind || existing.dtype !== incoming.dtype) {
    throw new TypeMismatchError(
      'dtype_mismatch',
      `key "${key}" holds ${describeType(existing)}; got ${describeType(incoming)}`,
    );
  }
  if (!sameShape(existing.shape, incoming.shape)) {
    throw new TypeMismatchError(
      'shape_mismatch',
      `key "${key}" holds ${describeType(existing)}; got shape [${incoming.shape.join(', ')}]`,
    );
  }
}

/** A short phrase for a type, used in error messages: "float64 arrays of shape [3, 4]". */
export function describeType(type: ValueType): string {
  switch (type.kind) {
    case 'number':
      return `${type.dtype} numbers`;
    case 'bigint':
      return `${type.dtype} bigints`;
    case 'boolean':
      return 'booleans';
    case 'string':
      return 'strings';
    case 'json':
      return 'JSON values';
    case 'typed':
      return `${type.dtype} TypedArrays of length ${type.shape[0]}`;
    case 'ndarray':
      return `${type.dtype} arrays of shape [${type.shape.join(', ')}]`;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isNdArrayLike(value: object): value is { data: unknown; shape: unknown } {
  return !Array.isArray(value) && 'data' in value && 'shape' in value && isTypedArray(value.data);
}

function encodeNdArray(value: { data: unknown; shape: unknown }): EncodedValue {
  const data = value.data as TypedArray;
  const shape = value.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RecorderError(
      'invalid_value',
      'an n-d array needs `shape` as an array of non-negative integers',
    );
  }
  const count = elementCount(shape);
  if (count !== data.length) {
    throw new RecorderError(
      'invalid_value',
      `shape [${shape.join(', ')}] holds ${count} elements but data has ${data.length}`,
    );
  }
  const type: ValueType = { kind: 'ndarray', dtype: dtypeOf(data), shape: [...shape] };
  return { type, bytes: bytesOf(data), text: null };
}

function assertJson(value: unknown, ancestors: object[]): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new RecorderError(
          'invalid_value',
          `JSON values cannot hold ${value}; record it as a number instead`,
        );
      }
      return;
    case 'object': {
      if (value === null) return;
      if (ancestors.includes(value)) throw new RecorderError('invalid_value', 'JSON value has a cycle');
      if (isTypedArray(value)) {
        throw new RecorderError('invalid_value', 'TypedArrays inside JSON values are not supported');
      }
      ancestors.push(value);
      if (Array.isArray(value)) {
        for (const item of value) assertJson(item, ancestors);
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw new RecorderError(
            'invalid_value',
            `cannot record a ${value.constructor?.name ?? 'class'} instance; use plain objects`,
          );
        }
        for (const item of Object.values(value)) assertJson(item, ancestors);
      }
      ancestors.pop();
      return;
    }
    default:
      throw new RecorderError('invalid_value', `JSON values cannot hold a ${typeof value}`);
  }
}

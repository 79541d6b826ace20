import type { Json } from '@simscope/protocol';
import { failArtifact } from './artifact-names.js';

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

const NPY_TYPES: [string, new (buffer: ArrayBuffer) => TypedArray][] = [
  ['<f8', Float64Array],
  ['<f4', Float32Array],
  ['|i1', Int8Array],
  ['|u1', Uint8Array],
  ['<i2', Int16Array],
  ['<u2', Uint16Array],
  ['<i4', Int32Array],
  ['<u4', Uint32Array],
  ['<i8', BigInt64Array],
  ['<u8', BigUint64Array],
];

function npyDescr(array: TypedArray): string {
  if (array instanceof Uint8ClampedArray) return '|u1';
  const found = NPY_TYPES.find(([, type]) => array instanceof type);
  if (!found) failArtifact('saveObject: unsupported typed array');
  return found[0];
}

/** A typed array as a NumPy `.npy` file (format 1.0, one dimension, little-endian), readable by `numpy.load`. */
function encodeNpy(array: TypedArray): Uint8Array {
  const descr = npyDescr(array);
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${array.length},), }`;
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length + array.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), 10 + header.length);
  return out;
}

/** Reads a one-dimensional little-endian `.npy` file (as `encodeNpy` writes) into a typed array. */
function decodeNpy(bytes: Uint8Array): TypedArray {
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY')
    failArtifact('not an .npy file');
  const major = bytes[6] ?? 0;
  const lengthBytes = major === 1 ? 2 : 4;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = lengthBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const type = NPY_TYPES.find(([d]) => d === descr || (d === '<f8' && descr === '<d'))?.[1];
  if (!type || /'fortran_order':\s*True/.test(header)) failArtifact(`.npy: unsupported array (${descr})`);
  const data = bytes.slice(start + headerLength);
  return new type(data.buffer);
}

/** Bytes, MIME type and metadata for `run.saveObject`. */
export function encodeObject(value: unknown): {
  bytes: Uint8Array;
  mimeType: string;
  metadata: Record<string, Json>;
} {
  if (value instanceof ArrayBuffer)
    return { bytes: new Uint8Array(value), mimeType: 'application/octet-stream', metadata: {} };
  if (Buffer.isBuffer(value)) return { bytes: value, mimeType: 'application/octet-stream', metadata: {} };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const array = value as TypedArray;
    return {
      bytes: encodeNpy(array),
      mimeType: 'application/x-npy',
      metadata: { dtype: npyDescr(array), shape: [array.length] },
    };
  }
  const text = JSON.stringify(value);
  if (text === undefined)
    failArtifact('saveObject: the value is not JSON (undefined, a function or a symbol)');
  return { bytes: new TextEncoder().encode(text), mimeType: 'application/json', metadata: {} };
}

/** The value `encodeObject` made, from an artifact's bytes and MIME type. */
export function decodeObject(bytes: Uint8Array, mimeType: string): unknown {
  const type = (mimeType.split(';')[0] ?? '').trim();
  if (type === 'application/json') return JSON.parse(new TextDecoder().decode(bytes));
  if (type === 'application/x-npy') return decodeNpy(bytes);
  return bytes;
}

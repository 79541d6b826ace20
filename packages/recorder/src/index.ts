export type { DataStore, KeyInfo, KeyMode } from './datastore.js';
export {
  DatastoreUnavailableError,
  RECORDER_ERROR_CODES,
  RecorderError,
  type RecorderErrorCode,
  TypeMismatchError,
} from './errors.js';
export { parseKey } from './key-path.js';
export { ListView } from './list-view.js';
export { InMemoryDataStore, type InMemoryDataStoreOptions } from './memory-datastore.js';
export { type ReadOptions, type RecordedGroup, Recorder } from './recorder.js';
export {
  DTYPES,
  type DType,
  dtypeOf,
  type JsonValue,
  type NdArray,
  type TypedArray,
  VALUE_KINDS,
  type Value,
  type ValueKind,
  type ValueType,
} from './value-types.js';

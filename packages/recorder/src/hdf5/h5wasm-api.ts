import { RecorderError } from '../errors.js';

// The part of h5wasm this package uses, typed structurally so our declarations never name it.

export interface H5Metadata {
  type: number;
  size: number;
  signed: boolean;
  littleEndian: boolean;
  vlen: boolean;
  cset?: number;
  shape: number[] | null;
  maxshape: number[] | null;
  chunks: number[] | null;
  enum_type?: { members: Record<string, number>; nmembers: number; type: number };
}

export interface H5Module {
  readonly HEAPU8: Uint8Array;
  readonly MAXIMUM_MEMORY: number;
  readonly H5G_GROUP: number;
  readonly H5G_DATASET: number;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  UTF8ToString(ptr: number): string;
  flush(fileId: bigint): number;
  get_type(fileId: bigint, path: string): number;
  create_group(fileId: bigint, path: string, trackOrder: boolean): number;
  resize_dataset(fileId: bigint, path: string, shape: bigint[]): number;
  get_dataset_metadata(fileId: bigint, path: string): H5Metadata;
  get_dataset_data(
    fileId: bigint,
    path: string,
    count: bigint[] | null,
    offset: bigint[] | null,
    strides: bigint[] | null,
    ptr: bigint,
  ): number;
  set_dataset_data(
    fileId: bigint,
    path: string,
    count: bigint[] | null,
    offset: bigint[] | null,
    strides: bigint[] | null,
    ptr: bigint,
  ): number;
  get_names(fileId: bigint, path: string, recursive: boolean): string[];
  get_attribute_names(fileId: bigint, path: string): string[];
  reclaim_vlen_memory(fileId: bigint, path: string, attribute: string, ptr: bigint): number;
  reclaim_vlen_memory_count(
    fileId: bigint,
    path: string,
    attribute: string,
    ptr: bigint,
    count: bigint[],
  ): number;
}

export interface H5Dataset {
  create_attribute(name: string, data: unknown, shape?: number[] | null, dtype?: string | null): void;
  get_attribute(name: string, jsonCompatible: false): unknown;
}

export interface H5File {
  readonly file_id: bigint;
  get(path: string): unknown;
  create_dataset(args: {
    name: string;
    data: unknown;
    shape?: number[] | null;
    dtype?: string | null;
    maxshape?: (number | null)[] | null;
    chunks?: number[] | null;
    compression?: number | 'gzip';
    compression_opts?: number | number[];
  }): unknown;
  close(): number;
}

export interface H5Api {
  File: new (filename: string, mode: 'r' | 'a' | 'w') => H5File;
  ready: Promise<H5Module>;
}

/** H5T class numbers from the HDF5 C API. */
export const H5T_INTEGER = 0;
export const H5T_FLOAT = 1;
export const H5T_STRING = 3;
export const H5T_ENUM = 8;

/** Loads h5wasm's Node build (the optional peer dependency) and waits for its wasm module. */
export async function loadH5wasm(): Promise<{ api: H5Api; module: H5Module }> {
  // A variable specifier keeps TypeScript from resolving the optional package at build time.
  const specifier = 'h5wasm/node';
  let imported: { default: H5Api };
  try {
    imported = (await import(specifier)) as { default: H5Api };
  } catch (cause) {
    throw new RecorderError(
      'module_missing',
      'HDF5DataStore needs the optional dependency h5wasm: npm install h5wasm',
      { cause },
    );
  }
  const module = await imported.default.ready;
  return { api: imported.default, module };
}

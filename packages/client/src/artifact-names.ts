import { extname, posix, sep } from 'node:path';
import { ARTIFACT_CATEGORIES, type ArtifactCategory, artifactNameProblem } from '@simscope/protocol';
import { ClientError } from './errors.js';

/** Throws the client error an artifact's bad name, category or content ends with. */
export function failArtifact(
  message: string,
  code: 'invalid_field' | 'bad_request' = 'invalid_field',
): never {
  throw new ClientError(code, message, 0);
}

/** Checks a category before anything is read or sent. */
export function checkCategory(category: string): ArtifactCategory {
  if (!(ARTIFACT_CATEGORIES as readonly string[]).includes(category)) {
    failArtifact(`category: must be one of ${ARTIFACT_CATEGORIES.join(', ')}, got '${category}'`);
  }
  return category as ArtifactCategory;
}

/** Checks a name given in code: it is used as written or refused, never changed. */
export function checkArtifactName(name: string): string {
  const problem = artifactNameProblem(name);
  if (problem) failArtifact(`artifact name '${name}': ${problem}`);
  return name;
}

/**
 * The artifact name for a file path: its base name, or with `preservePath` the path as given, normalised so that
 * it cannot point outside a download directory: `\` becomes `/` on Windows, a drive letter and leading `/` are
 * dropped, `.` and empty segments vanish and `..` segments are resolved, those that would climb above the path's
 * start dropped (`../data/a.txt` is `data/a.txt`). A name that still breaks the rules (a control character, a
 * segment over 255 characters) is refused.
 */
export function artifactNameFor(path: string, preservePath = false): string {
  let p = sep === '\\' ? path.replaceAll('\\', '/') : path;
  p = p.replace(/^[A-Za-z]:(?=\/|$)/, '');
  let name: string;
  if (!preservePath) {
    name = posix.basename(p);
  } else {
    name = posix.normalize(`/${p}`).replace(/^\/+/, '').replace(/\/+$/, '');
  }
  const problem = artifactNameProblem(name);
  if (problem) failArtifact(`artifact name for '${path}': ${problem}`);
  return name;
}

// Types by extension: the formats simulation work produces and reads, and the common ones besides.
const MIME_TYPES: Record<string, string> = {
  txt: 'text/plain',
  log: 'text/plain',
  out: 'text/plain',
  dat: 'text/plain',
  in: 'text/plain',
  cfg: 'text/plain',
  conf: 'text/plain',
  ini: 'text/plain',
  md: 'text/markdown',
  rst: 'text/x-rst',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  json: 'application/json',
  jsonl: 'application/jsonl',
  ndjson: 'application/x-ndjson',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  toml: 'application/toml',
  xml: 'application/xml',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  mjs: 'text/javascript',
  ts: 'text/x-typescript',
  py: 'text/x-python',
  ipynb: 'application/x-ipynb+json',
  c: 'text/x-c',
  h: 'text/x-c',
  cpp: 'text/x-c++',
  cc: 'text/x-c++',
  cxx: 'text/x-c++',
  hpp: 'text/x-c++',
  f: 'text/x-fortran',
  f90: 'text/x-fortran',
  f95: 'text/x-fortran',
  f03: 'text/x-fortran',
  for: 'text/x-fortran',
  jl: 'text/x-julia',
  r: 'text/x-r',
  m: 'text/x-matlab',
  rs: 'text/x-rust',
  go: 'text/x-go',
  java: 'text/x-java',
  sh: 'application/x-sh',
  tex: 'application/x-tex',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  bmp: 'image/bmp',
  pdf: 'application/pdf',
  eps: 'application/postscript',
  ps: 'application/postscript',
  mp4: 'video/mp4',
  webm: 'video/webm',
  gz: 'application/gzip',
  tgz: 'application/gzip',
  bz2: 'application/x-bzip2',
  xz: 'application/x-xz',
  zst: 'application/zstd',
  zip: 'application/zip',
  tar: 'application/x-tar',
  h5: 'application/x-hdf5',
  hdf5: 'application/x-hdf5',
  nc: 'application/x-netcdf',
  npy: 'application/x-npy',
  npz: 'application/x-npz',
  parquet: 'application/vnd.apache.parquet',
  arrow: 'application/vnd.apache.arrow.file',
  feather: 'application/vnd.apache.arrow.file',
  vtk: 'application/x-vtk',
  vtu: 'application/x-vtk',
  stl: 'model/stl',
  obj: 'model/obj',
  msgpack: 'application/msgpack',
  bin: 'application/octet-stream',
};

const MAGIC: [number[], string][] = [
  [[0x89, 0x50, 0x4e, 0x47], 'image/png'],
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  [[0x47, 0x49, 0x46, 0x38], 'image/gif'],
  [[0x25, 0x50, 0x44, 0x46], 'application/pdf'],
  [[0x50, 0x4b, 0x03, 0x04], 'application/zip'],
  [[0x1f, 0x8b], 'application/gzip'],
  [[0x89, 0x48, 0x44, 0x46], 'application/x-hdf5'],
  [[0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59], 'application/x-npy'],
  [[0x43, 0x44, 0x46, 0x01], 'application/x-netcdf'],
  [[0x43, 0x44, 0x46, 0x02], 'application/x-netcdf'],
];

/**
 * The MIME type of a file from its extension, else from its first bytes (image, PDF, archive, HDF5, npy and netCDF
 * signatures; UTF-8 text without NUL bytes is `text/plain`), else `application/octet-stream`.
 */
export function detectMimeType(path: string, head: Uint8Array): string {
  const byExtension = MIME_TYPES[extname(path).slice(1).toLowerCase()];
  if (byExtension) return byExtension;
  for (const [signature, type] of MAGIC) {
    if (signature.every((b, i) => head[i] === b)) return type;
  }
  if (head.length > 0 && !head.includes(0)) {
    try {
      // A multi-byte character cut at the end of the sample is not a reason to call the file binary.
      new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, Math.max(1, head.length - 3)));
      return 'text/plain';
    } catch {
      // not UTF-8
    }
  }
  return 'application/octet-stream';
}

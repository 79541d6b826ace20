import type { ArtifactCategory, Json } from '@simscope/protocol';
import { encodeObject } from './artifact-codec.js';
import { checkArtifactName, checkCategory } from './artifact-names.js';
import {
  type ArtifactInfo,
  mapLimit,
  planUploads,
  type SaveManyOptions,
  uploadBytes,
  uploadFile,
} from './artifacts.js';
import type { HttpTransport } from './http-transport.js';

/** Uploads files and directories of `paths` to run `id`, `options.concurrency` (default 4) at a time. */
export async function uploadMany(
  transport: HttpTransport,
  id: string,
  paths: readonly string[],
  category: ArtifactCategory,
  options: SaveManyOptions,
): Promise<ArtifactInfo[]> {
  const plan = await planUploads(paths, options.preservePath ?? false);
  return await mapLimit(plan, options.concurrency ?? 4, ({ path, name }) =>
    uploadFile(transport, id, path, category, {
      name,
      mimeType: options.mimeType,
      metadata: options.metadata,
    }),
  );
}

/**
 * Uploads a value to run `id` as an artifact, encoded as `encodeObject` does (.npy, bytes or JSON); the name and
 * category are checked after the value is encoded.
 */
export async function uploadObject(
  transport: HttpTransport,
  id: string,
  value: unknown,
  options: { category: ArtifactCategory; name: string; metadata?: Record<string, Json> },
): Promise<ArtifactInfo> {
  const encoded = encodeObject(value);
  return await uploadBytes(transport, id, encoded.bytes, {
    name: checkArtifactName(options.name),
    category: checkCategory(options.category),
    mimeType: encoded.mimeType,
    metadata: { ...encoded.metadata, ...options.metadata },
  });
}

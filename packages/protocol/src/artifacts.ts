import { unicodeProblem } from './validation.js';
import type { JsonObject } from './views.js';

/** What an artifact is to its run. */
export const ARTIFACT_CATEGORIES = ['code', 'input', 'output'] as const;
export type ArtifactCategory = (typeof ARTIFACT_CATEGORIES)[number];

/** Limits on artifact names and metadata; server and client check the same numbers. */
export const ARTIFACT_LIMITS = {
  /** Characters in a whole name such as `system/controlDict`. */
  nameLength: 1024,
  /** Characters in one `/`-separated segment of a name. */
  segmentLength: 255,
  /** Metadata of one artifact, as JSON. */
  metadataBytes: 16 * 1024,
  mimeTypeLength: 255,
} as const;

/** An artifact as the API returns it; `created` is when these bytes were saved under this name (µs). */
export interface ArtifactView {
  name: string;
  category: ArtifactCategory;
  mimeType: string;
  size: number;
  sha256: string;
  metadata: JsonObject;
  created: number;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why `name` is not a valid artifact name, or null when it is. A valid name is relative, uses `/` between
 * segments, and has no empty, `.` or `..` segment, no backslash and no control character (NUL included).
 */
export function artifactNameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name.length > ARTIFACT_LIMITS.nameLength) {
    return `must be at most ${ARTIFACT_LIMITS.nameLength} characters`;
  }
  if (CONTROL.test(name)) return 'must not contain control characters';
  const unicode = unicodeProblem(name);
  if (unicode) return unicode;
  if (name.includes('\\')) return "must not contain '\\'; separate segments with '/'";
  if (name.startsWith('/')) return "must be relative (no leading '/')";
  for (const segment of name.split('/')) {
    if (segment === '') return "must not contain empty segments ('//' or a trailing '/')";
    if (segment === '.' || segment === '..') return "must not contain '.' or '..' segments";
    if (segment.length > ARTIFACT_LIMITS.segmentLength) {
      return `segments must be at most ${ARTIFACT_LIMITS.segmentLength} characters`;
    }
  }
  return null;
}

/** True for 64 lowercase hexadecimal digits. */
export function isSha256(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}

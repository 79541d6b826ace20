import { createRequire } from 'node:module';
import { TelemetryError } from './errors.js';

// The YAML parser loads on the first registry read (require caches it): most processes that import a tracked
// library never parse YAML, and the parser is the larger part of this package's load time.
const require = createRequire(import.meta.url);
function parseYaml(text: string): unknown {
  return (require('yaml') as typeof import('yaml')).parse(text);
}

/** One service of a registry: endpoint `intake/catalog`, name `intake_catalog`, and the functions it tracks. */
export interface ServiceEntry {
  name: string;
  endpoint: string;
  functions: string[];
}

// The server checks the same rule (protocol's servicePathProblem); kept here so this package loads no schemas.
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MAX_SEGMENTS = 8;
const MAX_PATH = 255;

/** The service name of an endpoint: `intake/catalog` → `intake_catalog`. */
export function serviceName(endpoint: string): string {
  return endpoint.replaceAll('/', '_');
}

/** Checks an endpoint path such as `intake/catalog`; throws a `TelemetryError` naming `where` when it is not one. */
export function checkEndpoint(endpoint: string, where = 'endpoint'): string {
  const segments = endpoint.split('/');
  if (
    endpoint.length === 0 ||
    endpoint.length > MAX_PATH ||
    segments.length > MAX_SEGMENTS ||
    segments.some((s) => !SEGMENT.test(s))
  ) {
    throw new TelemetryError(
      'invalid_field',
      `${where}: '${endpoint}' is not a service endpoint: 1 to ${MAX_SEGMENTS} segments joined by '/', each of letters, digits, '_', '.' and '-' (not starting with '.' or '-'), at most ${MAX_PATH} characters`,
    );
  }
  return endpoint;
}

const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a registry in YAML: `service: endpoint: [function names]`, nested to any depth; each path of keys that
 * ends in a list is an endpoint (`intake: catalog: [...]` → endpoint `intake/catalog`, service `intake_catalog`).
 *
 * @example
 * parseRegistry('intake:\n  catalog:\n    - esm_datastore.search\n');
 * // [{ name: 'intake_catalog', endpoint: 'intake/catalog', functions: ['esm_datastore.search'] }]
 */
export function parseRegistry(text: string, source = 'registry'): ServiceEntry[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new TelemetryError('invalid_field', `${source}: not valid YAML: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (doc === null || doc === undefined) return [];
  if (!isMapping(doc)) {
    throw new TelemetryError('invalid_field', `${source}: expected a mapping of services to endpoints`);
  }
  const entries: ServiceEntry[] = [];
  const walk = (node: unknown, path: string[]): void => {
    const where = `${source}: ${path.join('.')}`;
    if (node === null || Array.isArray(node)) {
      const endpoint = checkEndpoint(path.join('/'), where);
      const functions: string[] = [];
      for (const [i, item] of (node ?? []).entries()) {
        if (typeof item !== 'string' || item.length === 0) {
          throw new TelemetryError(
            'invalid_field',
            `${where}[${i}]: expected a function name (a non-empty string), got ${JSON.stringify(item)}`,
          );
        }
        if (!functions.includes(item)) functions.push(item);
      }
      entries.push({ name: serviceName(endpoint), endpoint, functions });
      return;
    }
    if (!isMapping(node)) {
      throw new TelemetryError(
        'invalid_field',
        `${where}: expected a list of function names or a mapping of endpoints, got ${JSON.stringify(node)}`,
      );
    }
    for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
  };
  for (const [key, child] of Object.entries(doc)) walk(child, [key]);
  const names = new Map<string, string>();
  for (const e of entries) {
    const other = names.get(e.name);
    if (other !== undefined) {
      throw new TelemetryError(
        'invalid_field',
        `${source}: endpoints '${other}' and '${e.endpoint}' both make the service name '${e.name}'`,
      );
    }
    names.set(e.name, e.endpoint);
  }
  return entries;
}

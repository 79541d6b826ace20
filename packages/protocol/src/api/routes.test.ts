import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseInput } from '../validation.js';
import { paginate, pathOf, ROUTES } from './index.js';
import { apiRoute } from './route-schemas.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The modules `file` imports at run time (type-only imports are erased), followed through relative paths. */
function runtimeImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  for (const m of source.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)) {
    const target = m[1]!;
    if (target.startsWith('.')) runtimeImports(join(dirname(file), target.replace(/\.js$/, '.ts')), seen);
    else seen.add(target);
  }
  return seen;
}

describe('the route table', () => {
  it('is reachable without zod', () => {
    const imports = runtimeImports(join(here, 'index.ts'));
    expect([...imports].filter((i) => !i.startsWith('/'))).toEqual([]);
    expect([...imports].some((i) => i.endsWith('routes.ts'))).toBe(true);
  });

  it('fills and encodes path parameters', () => {
    expect(pathOf('getRun', { run: 'a b/c' })).toBe('/runs/a%20b%2Fc');
    expect(pathOf('removeMember', { workspace: 'w', user: 'u' })).toBe('/admin/workspaces/w/members/u');
    expect(pathOf('ingestTelemetry', { '*': 'intake/cat alog' })).toBe('/telemetry/intake/cat%20alog');
    expect(pathOf('listRuns', {})).toBe('/runs');
  });

  it('declares each method and path once', () => {
    const keys = Object.values(ROUTES).map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBe(120);
  });

  it('parses a query with the messages the server answers', () => {
    const route = apiRoute('readSeries').querySchema;
    expect(parseInput(route, { name: 'loss', from: '2', limit: '10' }, 'query')).toEqual({
      name: 'loss',
      columns: ['step', 'time', 'timestamp', 'value'],
      from: 2,
      to: null,
      limit: 10,
      next: undefined,
      includeSuperseded: false,
    });
    expect(() => parseInput(route, { from: 'x' }, 'query')).toThrow("query.from: expected a number, got 'x'");
    expect(() => parseInput(route, { limit: '0' }, 'query')).toThrow(
      "query.limit: must be a whole number from 1 to 1000000, got '0'",
    );
    const save = apiRoute('saveArtifact').querySchema;
    expect(() => parseInput(save, { name: 'a', metadata: '[]' }, 'query')).toThrow(
      'query.metadata: must be a JSON object',
    );
  });
});

describe('paginate', () => {
  it('follows cursors and stops at maxItems', async () => {
    const pages: Record<string, { items: number[]; next: string | null }> = {
      '': { items: [1, 2], next: 'b' },
      b: { items: [3, 4], next: 'c' },
      c: { items: [5], next: null },
    };
    const asked: (string | null)[] = [];
    const seen: number[][] = [];
    for await (const page of paginate(async (next) => {
      asked.push(next);
      return pages[next ?? '']!;
    }))
      seen.push(page);
    expect(seen).toEqual([[1, 2], [3, 4], [5]]);
    expect(asked).toEqual([null, 'b', 'c']);
    const cut: number[][] = [];
    for await (const page of paginate(async (next) => pages[next ?? '']!, { maxItems: 3 })) cut.push(page);
    expect(cut).toEqual([[1, 2], [3]]);
  });

  it('resumes from a start cursor and stops at maxPages', async () => {
    const pages: Record<string, { items: number[]; next: string | null }> = {
      '': { items: [1], next: 'b' },
      b: { items: [2], next: 'c' },
      c: { items: [3], next: 'd' },
      d: { items: [4], next: null },
    };
    const asked: (string | null)[] = [];
    const seen: number[][] = [];
    const fetchPage = async (next: string | null) => {
      asked.push(next);
      return pages[next ?? '']!;
    };
    for await (const page of paginate(fetchPage, { start: 'b', maxPages: 2 })) seen.push(page);
    expect(seen).toEqual([[2], [3]]);
    expect(asked).toEqual(['b', 'c']);
  });
});

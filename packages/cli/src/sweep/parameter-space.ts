import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { UsageError } from '../errors.js';
import { parseMetadataValue } from '../metadata-args.js';

/** A parameter's value in one point of a sweep. */
type ParameterValue = string | number | boolean;

/**
 * Parameters that vary together (zipped, all of one length). A sweep's points are the product of its
 * groups, the first group varying slowest, as nested loops in the order written.
 */
export type ParameterGroup = Record<string, ParameterValue[]>;

/** One point of a sweep: its index and its parameter values. */
export interface SweepPoint {
  index: number;
  values: Record<string, ParameterValue>;
}

/** Names that `{…}` in a command may use besides the parameters. */
const RESERVED = ['point'] as const;
const NAME = /^[A-Za-z_][\w.-]*$/;

function checkName(name: string, where: string): void {
  if (!NAME.test(name))
    throw new UsageError(`${where}: '${name}' is not a parameter name (letters, digits, _ . -)`);
  if ((RESERVED as readonly string[]).includes(name)) {
    throw new UsageError(`${where}: '${name}' is reserved for the point's index`);
  }
}

function scalarList(value: unknown, where: string): ParameterValue[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new UsageError(`${where}: has no values`);
  return list.map((v, i) => {
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
    // smol-toml reads big integers as bigint where they do not fit a double exactly.
    if (typeof v === 'bigint') return Number(v);
    throw new UsageError(`${where}[${i}]: expected a number, text or true/false, got ${JSON.stringify(v)}`);
  });
}

/** `['re=100,400', 'mesh=64']` → groups, one per parameter (product), or all in one group with `zip`. */
export function groupsFromFlags(pairs: readonly string[], zip: boolean): ParameterGroup[] {
  const params: ParameterGroup = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`-p '${pair}': expected NAME=VALUE,VALUE,…`);
    const name = pair.slice(0, eq);
    checkName(name, `-p '${pair}'`);
    if (name in params) throw new UsageError(`-p '${pair}': ${name} is given twice`);
    params[name] = pair
      .slice(eq + 1)
      .split(',')
      .map(parseMetadataValue) as ParameterValue[];
  }
  const groups = zip ? [params] : Object.entries(params).map(([k, v]) => ({ [k]: v }));
  return checkGroups(groups, '-p');
}

function groupFromTable(table: unknown, where: string): ParameterGroup {
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new UsageError(`${where}: expected a table of NAME = [values]`);
  }
  const group: ParameterGroup = {};
  for (const [name, value] of Object.entries(table)) {
    checkName(name, where);
    group[name] = scalarList(value, `${where}.${name}`);
  }
  return group;
}

/**
 * The groups a sweep file describes. Top-level `name = [values]` and the `[product]` table vary independently;
 * a `[zip]` table (or several `[[zip]]`) holds parameters that vary together; `[[points]]` lists points as
 * they are. A single value is a parameter with one value.
 */
export function groupsFromDocument(doc: Record<string, unknown>, file: string): ParameterGroup[] {
  const groups: ParameterGroup[] = [];
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'product') {
      for (const [name, values] of Object.entries(groupFromTable(value, `${file}: product`))) {
        groups.push({ [name]: values });
      }
    } else if (key === 'zip') {
      const tables = Array.isArray(value) ? value : [value];
      tables.forEach((t, i) => {
        groups.push(groupFromTable(t, `${file}: zip${Array.isArray(value) ? `[${i}]` : ''}`));
      });
    } else if (key === 'points') {
      groups.push(pointsGroup(value, `${file}: points`));
    } else {
      checkName(key, file);
      groups.push({ [key]: scalarList(value, `${file}: ${key}`) });
    }
  }
  return checkGroups(groups, file);
}

/** `[[points]]`: each point a table; every point must name the same parameters. */
function pointsGroup(value: unknown, where: string): ParameterGroup {
  if (!Array.isArray(value) || value.length === 0)
    throw new UsageError(`${where}: expected a list of tables`);
  const tables = value.map((t, i) => groupFromTable(t, `${where}[${i}]`));
  const names = Object.keys(tables[0] ?? {});
  const group: ParameterGroup = Object.fromEntries(names.map((n) => [n, []]));
  tables.forEach((table, i) => {
    const these = Object.keys(table);
    if (these.length !== names.length || these.some((n) => !names.includes(n))) {
      throw new UsageError(
        `${where}[${i}]: names ${these.join(', ')}; the first point names ${names.join(', ')}`,
      );
    }
    for (const name of names) {
      const [v] = table[name] ?? [];
      if (v === undefined || (table[name]?.length ?? 0) !== 1) {
        throw new UsageError(`${where}[${i}].${name}: expected one value`);
      }
      group[name]?.push(v);
    }
  });
  return group;
}

function checkGroups(groups: ParameterGroup[], where: string): ParameterGroup[] {
  const seen = new Set<string>();
  for (const group of groups) {
    const entries = Object.entries(group);
    const length = entries[0]?.[1].length ?? 0;
    for (const [name, values] of entries) {
      if (seen.has(name)) throw new UsageError(`${where}: ${name} is given twice`);
      seen.add(name);
      if (values.length !== length) {
        const lengths = entries.map(([n, v]) => `${n} has ${v.length}`).join(', ');
        throw new UsageError(`${where}: parameters zipped together need as many values each (${lengths})`);
      }
    }
  }
  if (seen.size === 0) throw new UsageError(`${where}: no parameters`);
  return groups;
}

/** Reads a sweep file: TOML (`.toml`), YAML (`.yaml`, `.yml`) or JSON (`.json`). */
export async function readSweepFile(path: string): Promise<ParameterGroup[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const ext = extname(path).toLowerCase();
  let doc: unknown;
  try {
    if (ext === '.toml') doc = (await import('smol-toml')).parse(text);
    else if (ext === '.yaml' || ext === '.yml') doc = (await import('yaml')).parse(text);
    else if (ext === '.json') doc = JSON.parse(text);
    else throw new Error('expected a .toml, .yaml, .yml or .json file');
  } catch (error) {
    throw new UsageError(`--file ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new UsageError(`--file ${path}: expected a table of parameters at the top`);
  }
  return groupsFromDocument(doc as Record<string, unknown>, `--file ${path}`);
}

/** Every point of the sweep, in order; the last group varies fastest. */
export function expandPoints(groups: readonly ParameterGroup[]): SweepPoint[] {
  let points: Record<string, ParameterValue>[] = [{}];
  for (const group of groups) {
    const entries = Object.entries(group);
    const length = entries[0]?.[1].length ?? 0;
    const next: Record<string, ParameterValue>[] = [];
    for (const point of points) {
      for (let i = 0; i < length; i++) {
        const values = { ...point };
        for (const [name, list] of entries) values[name] = list[i] as ParameterValue;
        next.push(values);
      }
    }
    points = next;
  }
  return points.map((values, index) => ({ index, values }));
}

/**
 * The command of one point: `{name}` in any word becomes the parameter's value, `{point}` the point's
 * index. A `{name}` that is no parameter is a usage error, found before anything runs.
 */
export function substituteCommand(argv: readonly string[], point: SweepPoint): string[] {
  return argv.map((word) =>
    word.replace(/\{([A-Za-z_][\w.-]*)\}/g, (_, name: string) => {
      if (name === 'point') return String(point.index);
      const value = point.values[name];
      if (value === undefined) {
        const known = [...Object.keys(point.values), ...RESERVED].join(', ');
        throw new UsageError(`command: {${name}} is not a parameter (${known})`);
      }
      return String(value);
    }),
  );
}

/** How a column is typed in a dataframe: Arrow type, CSV text. */
const COLUMN_KINDS = ['string', 'category', 'int', 'float', 'bool', 'time', 'strings', 'json'] as const;
export type ColumnKind = (typeof COLUMN_KINDS)[number];

/**
 * One column of a list's rows. `object` columns (metadata, system) become one column per leaf:
 * `metadata.solver.dt`, typed by what the rows hold there.
 */
export interface ColumnSpec<T> {
  name: string;
  kind: ColumnKind | 'object';
  value(row: T): unknown;
}

/** A column's values, one per row; `null` where a row has none. */
export interface Column {
  name: string;
  kind: ColumnKind;
  values: ArrayLike<unknown>;
}

/** A number as JSON may carry it: non-finite values are the strings "NaN", "Infinity", "-Infinity". */
export function toFloat(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number(value);
}

type Leaf = { path: string[]; values: unknown[] };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Leaves of the objects in `objects`, in first-seen order; arrays are leaves. */
function leaves(objects: readonly unknown[]): Leaf[] {
  const found = new Map<string, Leaf>();
  const visit = (value: unknown, path: string[], row: number) => {
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [key, inner] of Object.entries(value)) visit(inner, [...path, key], row);
      return;
    }
    if (isPlainObject(value)) return;
    const id = JSON.stringify(path);
    let leaf = found.get(id);
    if (!leaf) {
      leaf = { path, values: new Array(objects.length).fill(null) };
      found.set(id, leaf);
    }
    leaf.values[row] = value;
  };
  objects.forEach((object, row) => {
    if (isPlainObject(object)) for (const [key, inner] of Object.entries(object)) visit(inner, [key], row);
  });
  return [...found.values()];
}

/** The kind that holds every value: numbers float, booleans bool, text string, anything mixed JSON text. */
function inferKind(values: readonly unknown[]): ColumnKind {
  let kind: ColumnKind | undefined;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const k: ColumnKind =
      typeof v === 'number'
        ? 'float'
        : typeof v === 'boolean'
          ? 'bool'
          : typeof v === 'string'
            ? 'string'
            : 'json';
    if (kind === undefined) kind = k;
    else if (kind !== k) return 'json';
  }
  return kind ?? 'string';
}

/** The columns of `rows`, with object columns spread into their leaves. */
export function columnsOf<T>(rows: readonly T[], specs: readonly ColumnSpec<T>[]): Column[] {
  const out: Column[] = [];
  const names = new Set<string>();
  // A dotted leaf name can repeat ({"a.b": 1, "a": {"b": 2}}); the later one gets a suffix rather than vanish.
  const unique = (name: string) => {
    let candidate = name;
    for (let n = 2; names.has(candidate); n++) candidate = `${name}~${n}`;
    names.add(candidate);
    return candidate;
  };
  for (const spec of specs) {
    const values = rows.map((row) => spec.value(row) ?? null);
    if (spec.kind !== 'object') {
      out.push({ name: unique(spec.name), kind: spec.kind, values });
      continue;
    }
    for (const leaf of leaves(values)) {
      const kind = inferKind(leaf.values);
      out.push({
        name: unique([spec.name, ...leaf.path].join('.')),
        kind,
        values:
          kind === 'json' ? leaf.values.map((v) => (v === null ? null : JSON.stringify(v))) : leaf.values,
      });
    }
  }
  return out;
}

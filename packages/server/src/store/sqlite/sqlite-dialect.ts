import type { Dialect } from '../sql-driver.js';

function jsonPath(path: readonly string[]): string {
  const inner = path.map((p) => `."${p.replaceAll('"', '""').replaceAll("'", "''")}"`).join('');
  return `'$${inner}'`;
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  types: {
    pk: 'INTEGER PRIMARY KEY AUTOINCREMENT',
    int: 'INTEGER',
    real: 'REAL',
    text: 'TEXT',
    bytes: 'BLOB',
    json: 'BLOB',
  },
  jsonNumber: (c, p) =>
    `(CASE WHEN json_type(${c}, ${jsonPath(p)}) IN ('integer', 'real') THEN json_extract(${c}, ${jsonPath(p)}) END)`,
  jsonString: (c, p) =>
    `(CASE WHEN json_type(${c}, ${jsonPath(p)}) = 'text' THEN json_extract(${c}, ${jsonPath(p)}) END)`,
  jsonBoolean: (c, p) => `(CASE json_type(${c}, ${jsonPath(p)}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)`,
  jsonExists: (c, p) => `(json_type(${c}, ${jsonPath(p)}) IS NOT NULL)`,
  jsonArrayHas: (c) => `EXISTS (SELECT 1 FROM json_each(${c}) WHERE json_each.value = ?)`,
  ilike: (e) => `(${e} LIKE ? ESCAPE '\\')`,
  // `X REGEXP Y` calls the regexp(Y, X) function that SqliteStore.open registers.
  regex: (e) => `(${e} REGEXP ?)`,
  jsonParam: () => 'jsonb(?)',
  jsonOut: (c) => `json(${c})`,
  jsonElement: (c) => `json(${c})`,
  // SQLite stores NaN as NULL, and writes an infinity into JSON as 9e999.
  jsonNumberElement: (e) =>
    `(CASE WHEN ${e} = 9e999 THEN 'Infinity' WHEN ${e} = -9e999 THEN '-Infinity' ELSE ${e} END)`,
  jsonArrayAgg: (e) => `json_group_array(${e})`,
  forUpdate: '',
};

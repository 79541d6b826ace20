import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetryServer, type TelemetryServer } from '../test/telemetry-server.js';
import type { TelemetryError } from './errors.js';
import { instrument } from './instrument.js';
import { TelemetryRegister } from './register.js';
import { sessionId } from './session.js';
import { DEFAULT_REGISTRY_FILE, Telemetry, type TelemetryConfig } from './telemetry.js';

const REGISTRY = `
lib:
  calls:
    - solve
    - Mesh.refine
    - Mesh.load
    - helpers.scale
`;

let server: TelemetryServer;
let key: string;
let dir: string;
const open: Telemetry[] = [];

beforeAll(async () => {
  server = await startTelemetryServer();
  key = await server.key('lib/calls');
  dir = mkdtempSync(join(tmpdir(), 'simscope-instrument-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const t of open.splice(0)) await t.close(0);
});

function make(config: TelemetryConfig = {}): Telemetry {
  const telemetry = new Telemetry({
    env: {},
    cwd: dir,
    configFile: join(dir, 'none.toml'),
    flushIntervalMs: 20,
    exitHooks: false,
    registry: REGISTRY,
    ...config,
  });
  open.push(telemetry);
  if (telemetry.hasService('lib/calls')) telemetry.setDestination('lib/calls', { url: server.url, key });
  return telemetry;
}

async function recordsSince(from: number) {
  const records = await server.records('lib/calls');
  return records.filter((r) => r.timestamp >= from).map(({ id, timestamp, ...rest }) => rest);
}

const library = () => {
  class Mesh {
    cells = 4;
    refine(times: number): number {
      return this.cells * 2 ** times;
    }
    static load(path: string): string {
      return `mesh:${path}`;
    }
  }
  return {
    solve: (n: number) => n + 1,
    helpers: { scale: (x: number) => x * 10 },
    Mesh,
  };
};

describe('instrument', () => {
  it('wraps the registered names in place on an object, its classes (prototype and statics) and nested objects', async () => {
    const telemetry = make({ userName: false });
    const lib = library();
    const plainSolve = lib.solve;
    expect(instrument(lib, 'lib_calls', { telemetry })).toBe(lib);
    expect(lib.solve).not.toBe(plainSolve);
    instrument(lib, new TelemetryRegister('lib/calls', { telemetry }), { telemetry });
    const from = Date.now() * 1000;
    expect(lib.solve(1)).toBe(2);
    expect(new lib.Mesh().refine(2)).toBe(16);
    expect(lib.Mesh.load('a.msh')).toBe('mesh:a.msh');
    expect(lib.helpers.scale(3)).toBe(30);
    expect(await telemetry.flush(10_000)).toEqual({ pending: 0, sent: 4, dropped: 0, failed: 0 });
    const session_id = sessionId();
    expect(await recordsSince(from)).toEqual([
      { function: 'solve', args: [1], kwargs: {}, session_id },
      { function: 'Mesh.refine', args: [2], kwargs: {}, session_id },
      { function: 'Mesh.load', args: ['a.msh'], kwargs: {}, session_id },
      { function: 'helpers.scale', args: [3], kwargs: {}, session_id },
    ]);
  });

  it('wraps a class given alone, and CommonJS exports in place', async () => {
    const telemetry = make({ userName: false });
    const { Mesh } = library();
    expect(instrument(Mesh, 'lib_calls', { telemetry })).toBe(Mesh);
    const file = join(dir, 'solver.cjs');
    writeFileSync(file, 'exports.solve = function solve(n) { return n * 3; };\nexports.version = "1";\n');
    const requireHere = createRequire(import.meta.url);
    const exportsObject = requireHere(file) as { solve(n: number): number };
    instrument(exportsObject, 'lib_calls', { telemetry });
    const from = Date.now() * 1000;
    expect((requireHere(file) as { solve(n: number): number }).solve(2)).toBe(6);
    expect(new Mesh().refine(1)).toBe(8);
    await telemetry.flush(10_000);
    expect((await recordsSince(from)).map((r) => [r.function, r.args])).toEqual([
      ['solve', [2]],
      ['Mesh.refine', [1]],
    ]);
  });

  it('returns a wrapped copy of an ES module namespace, whose bindings are read-only', async () => {
    const telemetry = make({ userName: false });
    const file = join(dir, 'api.mjs');
    writeFileSync(
      file,
      'export function solve(n) { return n - 1; }\nexport class Mesh { refine(t) { return t; } }\nexport const other = 1;\n',
    );
    const namespace = (await import(pathToFileURL(file).href)) as {
      solve(n: number): number;
      Mesh: new () => { refine(t: number): number };
      other: number;
    };
    const api = instrument(namespace, 'lib_calls', { telemetry });
    expect(api).not.toBe(namespace);
    expect(Object.keys(api).sort()).toEqual(['Mesh', 'other', 'solve']);
    expect(api.other).toBe(1);
    expect(api.Mesh).toBe(namespace.Mesh);
    const from = Date.now() * 1000;
    expect(namespace.solve(5)).toBe(4);
    expect(api.solve(7)).toBe(6);
    expect(new namespace.Mesh().refine(9)).toBe(9);
    await telemetry.flush(10_000);
    expect((await recordsSince(from)).map((r) => [r.function, r.args])).toEqual([
      ['solve', [7]],
      ['Mesh.refine', [9]],
    ]);
  });

  it('refuses what it cannot wrap', () => {
    const telemetry = make();
    const frozen = Object.freeze({ solve: (n: number) => n });
    expect(() => instrument(frozen, 'lib/calls', { telemetry })).toThrow(
      "instrument: 'solve' is read-only on the target; track it with track() where it is defined",
    );
    expect(() => instrument(null as never, 'lib/calls', { telemetry })).toThrow(
      'instrument: target must be an object, a class or a module',
    );
  });
});

describe('the default registry file', () => {
  it('is the file SIMSCOPE_TELEMETRY_REGISTRY names: a registry file is enough to start tracking', async () => {
    const file = join(dir, 'registry.yaml');
    writeFileSync(file, REGISTRY);
    const telemetry = make({ registry: undefined, env: { SIMSCOPE_TELEMETRY_REGISTRY: file } });
    expect(telemetry.services()).toEqual([
      {
        name: 'lib_calls',
        endpoint: 'lib/calls',
        functions: ['solve', 'Mesh.refine', 'Mesh.load', 'helpers.scale'],
      },
    ]);
    const lib = instrument(library(), 'lib_calls', { telemetry });
    const from = Date.now() * 1000;
    lib.solve(41);
    await telemetry.flush(10_000);
    expect(await recordsSince(from)).toEqual([
      { function: 'solve', args: [41], kwargs: {}, session_id: sessionId(), name: userInfo().username },
    ]);
  });

  it('is telemetry.yaml next to the package otherwise, and a bad file named by the variable is reported, not thrown', () => {
    expect(DEFAULT_REGISTRY_FILE).toMatch(/packages\/telemetry\/telemetry\.yaml$/);
    expect(make({ registry: undefined }).services()).toEqual([]);
    const errors: TelemetryError[] = [];
    const missing = join(dir, 'missing.yaml');
    const telemetry = make({
      registry: undefined,
      env: { SIMSCOPE_TELEMETRY_REGISTRY: missing },
      onError: (e) => errors.push(e),
    });
    expect(telemetry.services()).toEqual([]);
    expect(errors.map((e) => e.code)).toEqual(['not_found']);
    expect(errors[0]?.message).toMatch(new RegExp(`^registry file '${missing}' cannot be read: ENOENT`));
    expect(() => make({ registryFile: missing })).toThrow(`registry file '${missing}' cannot be read`);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'lib: [unclosed');
    expect(() => make({ registryFile: bad })).toThrow(new RegExp(`^${bad}: not valid YAML`));
  });
});

describe('service names', () => {
  it('use the registry endpoints and refuse names that map ambiguously', () => {
    const telemetry = make();
    telemetry.loadRegistry('executor:\n  run: [executor.run]\n  save_results: [executor.save_results]\n');
    expect(new TelemetryRegister('executor_save_results', { telemetry }).endpoint).toBe(
      'executor/save_results',
    );
    expect(telemetry.track('executor_run', function run() {}).name).toBe('run');
    expect(telemetry.services().map((s) => s.endpoint)).toContain('executor/run');
    expect(() => telemetry.track('executor_load_state', function load() {})).toThrow(
      "track: service: 'executor_load_state' is not a service of the registry, and a name with '_' could stand for several endpoints ('executor/load/state', 'executor_load/state', 'executor/load_state', 'executor_load_state'); pass the endpoint, or declare it in a registry",
    );
    expect(telemetry.addService('plain').endpoint).toBe('plain');
    expect(() => telemetry.loadRegistry('executor_save:\n  results: [x]\n')).toThrow(
      "service: endpoints 'executor/save_results' and 'executor_save/results' both make the service name 'executor_save_results'; rename one of them",
    );
    expect(telemetry.hasService('executor_save/results')).toBe(false);
  });

  it('carry the user name by default, and leave it out with userName: false', async () => {
    const withName = make();
    const without = make({ userName: false });
    const from = Date.now() * 1000;
    withName.track('lib/calls', function solve(_n: number) {})(1);
    without.track('lib/calls', function solve(_n: number) {})(2);
    await withName.flush(10_000);
    await without.flush(10_000);
    const records = await recordsSince(from);
    expect(records.map((r) => [r.args[0], r.name])).toEqual([
      [1, userInfo().username],
      [2, undefined],
    ]);
    expect(Object.keys(records[1] ?? {})).not.toContain('name');
  });
});

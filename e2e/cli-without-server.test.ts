import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, cleanEnv, runCli } from './cli-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER_ONLY = ['@simscope/server', 'better-sqlite3', 'pg'];

/** A module hook that makes the server package and the database drivers impossible to resolve, as if not installed. */
const HOOKS = `
const BLOCKED = ${JSON.stringify(SERVER_ONLY)};
export async function resolve(specifier, context, next) {
  if (BLOCKED.some((name) => specifier === name || specifier.startsWith(name + '/'))) {
    const error = new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}
`;

describe('the CLI without @simscope/server installed', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    buildCli();
    home = mkdtempSync(join(tmpdir(), 'simscope-no-server-'));
    writeFileSync(join(home, 'hooks.mjs'), HOOKS);
    writeFileSync(
      join(home, 'register.mjs'),
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(home, 'hooks.mjs')).href)});\n`,
    );
    env = cleanEnv({
      NODE_OPTIONS: `--import ${pathToFileURL(join(home, 'register.mjs')).href}`,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_DATA_HOME: join(home, 'data'),
    });
  }, 120_000);
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('runs the client commands', async () => {
    const result = await runCli(['runs', 'list', '--help'], { env, cwd: home });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: simscope runs list \[options\]/);
  });

  it('says how to install the server when `simscope server` is run, with exit code 1 and no stack', async () => {
    const result = await runCli(['server', '--port', '0'], { env, cwd: home });
    expect(result.stderr).toBe(
      'simscope: simscope server needs the @simscope/server package: npm install @simscope/server\n',
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(1);
  });

  it('says the same for the backup command, which opens the database through the server package', async () => {
    const result = await runCli(['admin', 'backup', join(home, 'copy.db')], { env, cwd: home });
    expect(result.stderr).toBe(
      'simscope: simscope admin backup needs the @simscope/server package: npm install @simscope/server\n',
    );
    expect(result.code).toBe(1);
  });

  it('has no static import of the server package or a database driver in its compiled code', () => {
    const dist = join(ROOT, 'packages', 'cli', 'dist');
    const files = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(10);
    const statics = files.flatMap((file) =>
      [
        ...readFileSync(join(dist, file), 'utf8').matchAll(
          /^\s*(?:import|export)\b[^;()'"]*?['"]([^'"]+)['"]/gm,
        ),
      ]
        .map((m) => m[1] ?? '')
        .filter((name) => SERVER_ONLY.some((s) => name === s || name.startsWith(`${s}/`)))
        .map((name) => `${file}: ${name}`),
    );
    expect(statics).toEqual([]);
  });
});

interface LockEntry {
  link?: boolean;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** The packages `npm install` puts in for a package with these declared dependencies, from package-lock.json. */
function installClosure(start: string, manifest: LockEntry): Set<string> {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const required = (entry: LockEntry) => [
    ...Object.keys(entry.dependencies ?? {}).map((name) => ({ name, optional: false })),
    ...Object.keys(entry.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
    ...Object.keys(entry.peerDependencies ?? {})
      .filter((name) => !entry.peerDependenciesMeta?.[name]?.optional)
      .map((name) => ({ name, optional: false })),
  ];
  // Node's lookup: node_modules of the package itself, then of each folder above it.
  const locate = (name: string, from: string): string | undefined => {
    for (let at = from; ; at = at.replace(/\/?(?:node_modules\/(?:@[^/]+\/)?[^/]+|[^/]+)$/, '')) {
      const candidate = at ? `${at}/node_modules/${name}` : `node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (!at) return undefined;
    }
  };
  const names = new Set<string>();
  const seen = new Set<string>();
  const visit = (location: string, entry: LockEntry) => {
    for (const { name, optional } of required(entry)) {
      let found = locate(name, location);
      if (!found) {
        if (optional) continue;
        throw new Error(`${name} (needed by ${location || 'the root'}) is not in package-lock.json`);
      }
      const linked = lock.packages[found]?.link ? lock.packages[found]?.resolved : undefined;
      if (linked) found = linked;
      names.add(name);
      if (seen.has(found)) continue;
      seen.add(found);
      const next = lock.packages[found];
      if (next) visit(found, next);
    }
  };
  visit(start, manifest);
  return names;
}

describe("the CLI's install", () => {
  const manifest = (dir: string) =>
    JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as LockEntry;

  it('does not bring the server or its database drivers', () => {
    const closure = installClosure('packages/cli', manifest('cli'));
    expect(closure.has('@simscope/client')).toBe(true);
    expect(closure.has('commander')).toBe(true);
    expect(SERVER_ONLY.filter((name) => closure.has(name))).toEqual([]);
    expect(closure.has('@aws-sdk/client-s3')).toBe(false);
  });

  it("declares the server as an optional peer, which the server's own install would bring the drivers with", () => {
    const cli = manifest('cli');
    expect(cli.peerDependencies?.['@simscope/server']).toBe('0.1.0');
    expect(cli.peerDependenciesMeta?.['@simscope/server']?.optional).toBe(true);
    const server = installClosure('packages/server', manifest('server'));
    expect(['better-sqlite3', 'pg'].filter((name) => server.has(name))).toEqual(['better-sqlite3', 'pg']);
  });
});

// Runs every example of docs/coming-from.md: each `## ` section's ts and sh blocks, in order, in a fresh working
// directory of its own, against a real server in this process.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../packages/cli/src/cli.js';
import { LocalBlobStore } from '../packages/server/src/blob/local-blob-store.js';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOC = readFileSync(join(ROOT, 'docs', 'coming-from.md'), 'utf8');

interface Example {
  lang: 'ts' | 'sh';
  code: string;
}

function sections(markdown: string): { title: string; examples: Example[] }[] {
  return markdown
    .split(/^## /m)
    .slice(1)
    .map((text) => ({
      title: text.slice(0, text.indexOf('\n')).trim(),
      examples: [...text.matchAll(/^```(ts|sh)\n([\s\S]*?)^```$/gm)].map((m) => ({
        lang: m[1] as 'ts' | 'sh',
        code: m[2] as string,
      })),
    }));
}

/** `@simscope/x` and `@simscope/x/sub` as the files of this checkout, so an example needs no build. */
function localImports(code: string): string {
  return code.replace(
    /(['"])@simscope\/([a-z0-9-]+)(?:\/([a-z0-9-]+))?\1/g,
    (_, quote: string, pkg: string, sub?: string) =>
      JSON.stringify(join(ROOT, 'packages', pkg, 'src', sub ? join(sub, 'index.ts') : 'index.ts')).replaceAll(
        '"',
        quote,
      ),
  );
}

/** Shell words of one command line: quotes and backslash-newlines as a POSIX shell reads them. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\\\n)|(\s+)|([^\s'"\\]+)/g;
  let current: string | null = null;
  for (const m of line.matchAll(pattern)) {
    if (m[3] !== undefined) continue;
    if (m[4] !== undefined) {
      if (current !== null) words.push(current);
      current = null;
      continue;
    }
    current = (current ?? '') + (m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[5] ?? '');
  }
  if (current !== null) words.push(current);
  return words;
}

describe('docs/coming-from.md', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let url: string;
  let key: string;
  let dir: string;
  const cwd = process.cwd();
  const saved = { ...process.env };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-coming-from-'));
    t = await openTestApp('sqlite', { blobs: new LocalBlobStore(join(dir, 'blobs')) });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/telemetry/keys',
      headers: t.auth,
      payload: { service: 'intake/catalog', name: 'coming-from' },
    });
    key = res.json<{ key: string }>().key;
    Object.assign(process.env, {
      SIMSCOPE_URL: url,
      SIMSCOPE_TOKEN: ADMIN_TOKEN,
      SIMSCOPE_TELEMETRY: '1',
      SIMSCOPE_CONFIG: join(dir, 'no-user-config.toml'),
    });
    delete process.env.DO_NOT_TRACK;
    delete process.env.SIMSCOPE_PROFILE;
  });
  afterAll(async () => {
    process.chdir(cwd);
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has a section per tool, each with examples', () => {
    const found = sections(DOC);
    for (const tool of [
      'Simvue',
      'SimRecorder',
      'ACCESS-NRI telemetry (access-py-telemetry)',
      'Scipion monitors',
      'DIALS (dials-py)',
    ]) {
      expect(found.find((s) => s.title === tool)?.examples.length ?? 0).toBeGreaterThan(0);
    }
  });

  for (const [s, section] of sections(DOC).entries()) {
    describe(section.title, () => {
      const work = () => join(dir, `section-${s}`);
      for (const [i, example] of section.examples.entries()) {
        it(`example ${i + 1} (${example.lang})`, async () => {
          mkdirSync(work(), { recursive: true });
          process.chdir(work());
          try {
            if (example.lang === 'ts') {
              const file = join(dir, `section-${s}-example-${i}.ts`);
              const code = localImports(example.code)
                .replaceAll('https://simscope.example.org', url)
                .replaceAll("'stk_…'", `'${key}'`);
              writeFileSync(file, `${code}\nexport {};\n`);
              await import(file);
            } else {
              for (const line of example.code.replace(/\\\n/g, ' ').split('\n')) {
                if (line.trim() === '') continue;
                const [program, ...args] = shellWords(line);
                expect(program).toBe('simscope');
                const out: string[] = [];
                const write = (text: string) => out.push(text);
                const code = await main(args, {
                  stdout: { write },
                  stderr: { write },
                  env: process.env,
                  cwd: work(),
                });
                expect({ line, code, out: out.join('') }).toMatchObject({ line, code: 0 });
              }
            }
          } finally {
            process.chdir(cwd);
          }
        });
      }
    });
  }
});

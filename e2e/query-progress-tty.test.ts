// The progress bar's terminal decision, made by a real process: under `script` (util-linux) stderr is a
// pseudo-terminal, as in an interactive shell; with pipes it is not, as in a batch job or CI.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';
import { buildCli } from './cli-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT = pathToFileURL(join(ROOT, 'packages', 'client', 'dist', 'index.js')).href;
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

/** What the listing prints: the bar (on stderr) and `listed N` (on stdout), as one terminal or two pipes. */
function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  tty: boolean,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = [process.execPath, file, ...args];
  const child = tty
    ? spawn('script', ['-qec', argv.map((a) => `'${a}'`).join(' '), '/dev/null'], { env })
    : spawn(argv[0]!, argv.slice(1), { env });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

// The last frame of the bar (its erase-to-end-of-line shown as <EL>): complete, three pages, three rows, then the line ends.
const DONE = /\rruns \|█{24}\| 3\/3 pages, 3 items \[00:0\d, \d+\.\d pages\/s\]<EL>\r?\n/;
const shown = (text: string) => text.replaceAll('\x1b[K', '<EL>');

describe.skipIf(!HAS_SCRIPT)('listAll progress bar on a terminal', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let dir: string;
  let file: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    buildCli();
    dir = mkdtempSync(join(tmpdir(), 'simscope-progress-tty-'));
    t = await openTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    for (const name of ['tty-1', 'tty-2', 'tty-3']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: t.auth,
        payload: { name },
      });
      expect(res.statusCode).toBe(201);
    }
    file = join(dir, 'list.mjs');
    // argv: how the client is made (`default`, `client-off`) and what the call passes (`default`, `call-off`).
    writeFileSync(
      file,
      `import { Client } from ${JSON.stringify(CLIENT)};
const [made, call] = process.argv.slice(2);
const client = new Client(made === 'client-off' ? { progress: false } : {});
const result = await client.runs.listAll({}, { pageSize: 1, ...(call === 'call-off' ? { progress: false } : {}) });
process.stdout.write(\`listed \${result.items.length}\\n\`);
`,
    );
    env = { PATH: process.env.PATH, HOME: dir, SIMSCOPE_URL: url, SIMSCOPE_TOKEN: ADMIN_TOKEN, TERM: 'dumb' };
  }, 120_000);
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws the bar by default when stderr is a terminal', async () => {
    const out = await run(file, ['default', 'default'], env, true);
    expect(out.code).toBe(0);
    expect(shown(out.stdout)).toMatch(DONE);
    expect(out.stdout.endsWith('listed 3\r\n')).toBe(true);
    expect(out.stdout.match(/\rruns \|/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it('draws nothing when stderr is a pipe', async () => {
    expect(await run(file, ['default', 'default'], env, false)).toEqual({
      code: 0,
      stdout: 'listed 3\n',
      stderr: '',
    });
  });

  it('draws nothing on a terminal with progress: false, for the client or for the call', async () => {
    for (const args of [
      ['client-off', 'default'],
      ['default', 'call-off'],
    ]) {
      expect(await run(file, args, env, true)).toEqual({ code: 0, stdout: 'listed 3\r\n', stderr: '' });
    }
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/postgres-cluster.js';
import { buildCli, cleanEnv, runCli } from './cli-process.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const PROGRAM = 'for i in $(seq 0 19); do echo "@simscope step=$i x=$i"; sleep 0.1; done';

describe('simscope run while the server goes away, then simscope sync', () => {
  let home: string;
  beforeAll(() => {
    buildServer();
    buildCli();
    home = mkdtempSync(join(tmpdir(), 'simscope-cli-spool-'));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('keeps what the server missed in the spool, and sync uploads it: nothing lost, nothing twice', async () => {
    const port = await freePort();
    let server = await ServerProcess.start({ home, port });
    const env = cleanEnv({ XDG_CONFIG_HOME: join(home, 'config'), SIMSCOPE_SPOOL_DIR: join(home, 'spool') });
    let killed: Promise<unknown> | undefined;
    const result = await runCli(['run', '--name', 'outage', '--', 'sh', '-c', PROGRAM], {
      cwd: home,
      env,
      onStdout: (chunk) => {
        if (!killed && chunk.includes('step=5 ')) {
          server.kill('SIGKILL');
          killed = server.waitForExit();
        }
      },
    });
    await killed;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('server unreachable');
    expect(result.stderr).toMatch(/\d+ metric points and \d+ events are kept in the spool; `simscope sync`/);

    server = await ServerProcess.start({ home, port });
    try {
      const sync = await runCli(['sync', '--format', 'json'], { cwd: home, env });
      expect(sync.code).toBe(0);
      const synced = JSON.parse(sync.stdout) as { outcome: string }[];
      expect(synced.map((s) => s.outcome)).toEqual(['synced']);
      expect((await runCli(['sync'], { cwd: home, env })).stdout).toBe('nothing to sync\n');

      const client = new Client({ url: server.url, token: E2E_TOKEN });
      expect((await client.getRun('outage')).status).toBe('completed');
      const [x] = await client.getMetricValues('outage', 'x');
      expect(Array.from(x!.x)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(Array.from(x!.values)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const lines = (await client.getEvents('outage')).map((e) => e.message).filter((m) => m.startsWith('@'));
      expect(lines).toEqual(Array.from({ length: 20 }, (_, i) => `@simscope step=${i} x=${i}`));
    } finally {
      server.kill('SIGTERM');
      await server.waitForExit();
    }
  });
});

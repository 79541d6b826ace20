import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, cleanEnv, runCli } from './cli-process.js';
import { E2E_TOKEN, ServerProcess } from './server-process.js';

const BATCH = 10;

describe('simscope admin backup and restore (SQLite)', () => {
  let home: string;
  let server: ServerProcess | undefined;

  beforeAll(() => {
    buildCli();
    home = mkdtempSync(join(tmpdir(), 'simscope-backup-'));
  }, 120_000);
  afterAll(async () => {
    if (server?.running) {
      server.kill();
      await server.waitForExit();
    }
    rmSync(home, { recursive: true, force: true });
  });

  const env = () => cleanEnv({ XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') });
  const api = (path: string, body?: unknown) =>
    fetch(`${server!.url}/api/v1${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${E2E_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('copies the database consistently while writes go on, and restores it with the server stopped', async () => {
    server = await ServerProcess.start({ home });
    expect((await api('/runs', { name: 'busy' })).status).toBe(201);

    let acked = 0;
    let writing = true;
    const writer = (async () => {
      for (let seq = 0; writing && seq < 3000; seq++) {
        const steps = Array.from({ length: BATCH }, (_, i) => seq * BATCH + i);
        const res = await api('/runs/busy/metrics', {
          writer: 'w',
          seq,
          series: [{ name: 'loss', steps, values: steps }],
        });
        expect(res.status).toBe(200);
        acked += BATCH;
      }
    })();
    while (acked < 200) await new Promise((r) => setTimeout(r, 10));

    const file = join(home, 'copy.db');
    const before = acked;
    const backup = await runCli(['admin', 'backup', file], { env: env(), cwd: home });
    const after = acked;
    expect(backup.stderr).toBe('');
    expect(backup.stdout).toMatch(/^backed up .*simscope\.db to .*copy\.db \(\d+ pages\)\n$/);
    expect(backup.code).toBe(0);
    writing = false;
    await writer;
    expect(after).toBeGreaterThan(before); // writes went on while the copy was made

    const again = await runCli(['admin', 'backup', file], { env: env(), cwd: home });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`backup: ${file} exists; name a new file`);

    const busy = await runCli(['admin', 'restore', file, '--yes'], { env: env(), cwd: home });
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toContain('is in use');
    expect(busy.stderr).toContain('stop the servers that use it first');

    server.kill('SIGTERM');
    await server.waitForExit();
    const restored = await runCli(['admin', 'restore', file, '--yes'], { env: env(), cwd: home });
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);

    server = await ServerProcess.start({ home });
    const names: any = await (await api('/runs/busy/metrics?name=loss')).json();
    const count = names.items[0].count as number;
    expect(count % BATCH).toBe(0);
    expect(count).toBeGreaterThanOrEqual(before);
    expect(count).toBeLessThanOrEqual(after);
    expect(count).toBeLessThan(acked); // the points written after the copy are gone again
    const series: any = await (await api(`/runs/busy/metrics/series?name=loss&limit=${count + 10}`)).json();
    expect(series.steps).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(existsSync(`${file}.partial`)).toBe(false);
  }, 120_000);
});

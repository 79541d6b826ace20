import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Run } from '@simscope/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../../../test/fixtures.js';
import { startMailServer } from '../../../test/mail-server.js';
import { startWebhookReceiver } from '../../../test/webhook-receiver.js';
import {
  alertsList,
  describeAlert,
  monitorDisk,
  monitorSystem,
  parseThreshold,
  smtpFromEnv,
} from './commands.js';
import { diskUsage } from './disk-space-monitor.js';
import { parseSeconds, parseSize } from './units.js';

describe('option parsing', () => {
  it('reads sizes in SI and binary units', () => {
    const cases: [string | number, number][] = [
      ['500GB', 500e9],
      ['500G', 500e9],
      ['1.5TiB', 1.5 * 2 ** 40],
      ['200M', 200e6],
      ['64KiB', 65536],
      ['1048576', 1048576],
      ['2 PB', 2e15],
      ['1Gi', 2 ** 30],
      [123, 123],
    ];
    for (const [text, bytes] of cases) expect(parseSize(text)).toBe(bytes);
    for (const bad of ['', 'lots', '5 XB', '-1GB', 'iB', '1.5.2G']) {
      expect(() => parseSize(bad, '--min-free')).toThrow(`--min-free: '${bad}' is not a size`);
    }
  });

  it('reads durations like 30s, 5m, 24h and refuses zero', () => {
    expect(parseSeconds('30s')).toBe(30);
    expect(parseSeconds('5m')).toBe(300);
    expect(parseSeconds('24h')).toBe(86_400);
    expect(parseSeconds('1h30m')).toBe(5400);
    expect(parseSeconds('0.5')).toBe(0.5);
    expect(parseSeconds(2)).toBe(2);
    expect(() => parseSeconds('5 minutes', '--interval')).toThrow(
      "--interval: '5 minutes' is not a duration",
    );
    expect(() => parseSeconds('0s', '--for')).toThrow("--for: must be more than zero seconds, got '0s'");
  });

  it('reads thresholds and SMTP settings', () => {
    expect(parseThreshold('90%', '--cpu')).toBe(90);
    expect(parseThreshold(85, '--cpu')).toBe(85);
    expect(parseThreshold(undefined, '--cpu')).toBeUndefined();
    expect(() => parseThreshold('high', '--gpu')).toThrow(
      "--gpu: must be a number such as 90 or 90%, got 'high'",
    );
    expect(smtpFromEnv({})).toBeNull();
    expect(
      smtpFromEnv({
        SIMSCOPE_SMTP_HOST: 'mail',
        SIMSCOPE_SMTP_PORT: '2525',
        SIMSCOPE_SMTP_TLS: 'none',
        SIMSCOPE_SMTP_FROM: 'a@b',
      }),
    ).toEqual({ host: 'mail', port: 2525, tls: 'none', user: null, password: null, from: 'a@b' });
    expect(() => smtpFromEnv({ SIMSCOPE_SMTP_HOST: 'mail', SIMSCOPE_SMTP_TLS: 'ssl' })).toThrow(
      'SIMSCOPE_SMTP_TLS',
    );
  });
});

describe('monitor commands', () => {
  let dir: string;
  let mail: Awaited<ReturnType<typeof startMailServer>>;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let url: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-commands-'));
    mail = await startMailServer();
    hooks = await startWebhookReceiver();
    t = await openTestApp('sqlite', { webhookAllow: ['127.0.0.1/32'] });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await mail.close();
    await hooks.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    t.clock.now = Date.now() * 1000;
  });

  it('monitor disk: samples for the given time, notifies every channel once, logs to a run', async () => {
    const free = (await diskUsage(dir)).free;
    const out: string[] = [];
    const env = {
      SIMSCOPE_URL: url,
      SIMSCOPE_TOKEN: ADMIN_TOKEN,
      SIMSCOPE_SMTP_HOST: mail.host,
      SIMSCOPE_SMTP_PORT: String(mail.port),
      SIMSCOPE_SMTP_TLS: 'none',
      SIMSCOPE_SMTP_FROM: 'monitor@simscope.test',
    };
    const saved = { url: process.env.SIMSCOPE_URL, token: process.env.SIMSCOPE_TOKEN };
    // The run is opened by @simscope/client, which finds the server in the environment as a user's would be.
    process.env.SIMSCOPE_URL = url;
    process.env.SIMSCOPE_TOKEN = ADMIN_TOKEN;
    let result: Awaited<ReturnType<typeof monitorDisk>>;
    try {
      result = await monitorDisk(
        {
          path: dir,
          minFree: String(free + 2 ** 30),
          interval: '0.1s',
          for: '0.35s',
          email: ['ops@example.org'],
          webhook: [hooks.url],
          run: 'disk-watch',
          tsv: join(dir, 'disk.tsv'),
        },
        { stdout: { write: (s: string) => out.push(s) }, env },
      );
    } finally {
      process.env.SIMSCOPE_URL = saved.url;
      process.env.SIMSCOPE_TOKEN = saved.token;
      if (saved.url === undefined) delete process.env.SIMSCOPE_URL;
      if (saved.token === undefined) delete process.env.SIMSCOPE_TOKEN;
    }
    // How many samples fit in 0.35 s depends on the machine's load; each one is accounted for exactly.
    expect(result.reason).toBe('deadline');
    const steps = result.steps;
    expect(steps).toBeGreaterThanOrEqual(1);
    expect(steps).toBeLessThanOrEqual(4);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/ WARNING: only .+ left for /);
    expect(mail.messages.map((m) => m.to)).toEqual([['ops@example.org']]);
    expect(hooks.requests).toHaveLength(1);
    expect(readFileSync(join(dir, 'disk.tsv'), 'utf8').trimEnd().split('\n')).toHaveLength(steps + 1);
    const client = new Client({ url, token: ADMIN_TOKEN });
    const run = await client.getRun('disk-watch');
    expect(run.status).toBe('completed');
    expect((await client.getMetricNames('disk-watch')).map((m) => [m.name, m.count])).toEqual([
      ['disk.free_bytes', steps],
      ['disk.total_bytes', steps],
      ['disk.used_bytes', steps],
    ]);
    expect((await client.getEvents('disk-watch')).map((e) => e.level)).toEqual(['warning']);
  });

  it('monitor system: stops on the signal and ends the run terminated; bad options name the flag', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const run = await new Run()
      .config({ url, token: ADMIN_TOKEN, systemInfo: false })
      .init({ name: 'system-watch' });
    const result = await monitorSystem(
      { interval: '1h', cpu: '101', quiet: true, run: 'system-watch' },
      { signal: controller.signal, openRun: async () => run },
    );
    expect(result).toEqual({ steps: 1, reason: 'aborted' });
    const info = await new Client({ url, token: ADMIN_TOKEN }).getRun('system-watch');
    expect(info.status).toBe('terminated');
    const names = (await new Client({ url, token: ADMIN_TOKEN }).getMetricNames('system-watch')).map(
      (m) => m.name,
    );
    expect(names).toContain('system.memory_percent');

    const io = { env: {}, stdout: { write: () => true } };
    await expect(monitorDisk({ path: dir, minFree: 'much' }, io)).rejects.toThrow(
      "--min-free: 'much' is not a size",
    );
    await expect(monitorDisk({ path: dir, minFree: '1GB', interval: 'soon' }, io)).rejects.toThrow(
      '--interval:',
    );
    await expect(monitorDisk({ path: dir, minFree: '1GB', email: ['a@b.c'] }, io)).rejects.toThrow(
      '--email: needs a mail server; set SIMSCOPE_SMTP_HOST',
    );
    await expect(monitorDisk({ path: dir, minFree: '1GB', webhook: ['ftp://x'] }, io)).rejects.toThrow(
      "--webhook: 'ftp://x' is not an http:// or https:// URL",
    );
    await expect(monitorSystem({ gpuTemperature: 'hot' }, io)).rejects.toThrow('--gpu-temperature:');
  });

  it('alerts list: the workspace table, a run table and JSON', async () => {
    const run = await new Run()
      .config({ url, token: ADMIN_TOKEN, systemInfo: false, suppressErrors: false })
      .init({ name: 'listed' });
    await run.addAlert({
      name: 'loss high',
      metric: 'loss',
      rule: 'is above',
      threshold: 0.5,
      window: 60,
      frequency: 30,
      notification: ['email', 'webhook'],
      webhook: hooks.url,
    });
    await run.addAlert({ name: 'diverged', source: 'user' });
    await run.addAlert({ name: 'nan', source: 'events', pattern: 'NaN', match: 'regex', frequency: 10 });
    await run.logAlert('diverged', 'critical');
    const client = new Client({ url, token: ADMIN_TOKEN });
    const out = { write: () => true };
    const all = await alertsList({}, { client, stdout: out });
    expect(all.split('\n')).toEqual([
      'NAME       SOURCE   RUNS  CRITICAL  NOTIFY         WATCHES',
      'diverged   user     1     1         none           set by the run',
      'loss high  metrics  1     0         email,webhook  average(loss) over 60s is above 0.5, every 30s',
      'nan        events   1     0         none           events matching /NaN/ over 10s, every 10s',
    ]);
    expect(await alertsList({ critical: true }, { client, stdout: out })).toMatch(/^NAME .*\ndiverged /);
    const forRun = (await alertsList({ run: 'listed' }, { client, stdout: out })).split('\n');
    expect(forRun[0]).toBe('NAME       STATE     SINCE                 VALUE  WATCHES');
    expect(forRun[1]).toMatch(
      /^diverged {3}critical {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}- {6}set by the run$/,
    );
    expect(forRun).toHaveLength(4);
    const json = JSON.parse(
      await alertsList({ run: 'listed', critical: true, json: true }, { client, stdout: out }),
    );
    expect(json.map((a: { alert: { name: string } }) => a.alert.name)).toEqual(['diverged']);
    expect(await alertsList({ run: 'listed', critical: true }, { client, stdout: out })).toMatch(/^NAME/);
    await run.logAlert('diverged', 'ok');
    expect(await alertsList({ run: 'listed', critical: true }, { client, stdout: out })).toBe(
      "no critical alerts on run 'listed'",
    );
    expect(describeAlert((await client.getAlerts()).find((a) => a.name === 'nan')!)).toBe(
      'events matching /NaN/ over 10s, every 10s',
    );
    await run.close();
  });
});

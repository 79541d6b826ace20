import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetryServer, type TelemetryServer } from '../test/telemetry-server.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../test/exit-child.mjs', import.meta.url));

interface Ended {
  code: number | null;
  /** Milliseconds from the child's "called" line to its exit. */
  afterCalls: number;
  stderr: string;
}

function runChild(
  url: string,
  key: string,
  calls: number,
  mode: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [CHILD, url, key, String(calls), mode], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let calledAt = 0;
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('called')) calledAt = performance.now();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, afterCalls: performance.now() - calledAt, stderr }));
  });
}

describe('flush at process exit', () => {
  let server: TelemetryServer;
  let key: string;
  let silent: Server;
  let silentUrl: string;

  beforeAll(async () => {
    execFileSync(join('node_modules', '.bin', 'tsc'), ['-b', 'packages/telemetry/tsconfig.json'], {
      cwd: ROOT,
    });
    server = await startTelemetryServer();
    key = await server.key('exit/test');
    // Takes each request and never answers: the worst a flush at exit can meet.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  }, 120_000);
  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
    await server.close();
  });

  const stored = async () => (await server.records('exit/test')).length;

  it.each([
    ['ends by itself', 'natural', 0],
    ['calls process.exit()', 'exit', 0],
    ['dies of an uncaught error', 'throw', 1],
  ])('sends every record once when the process %s', async (_what, mode, code) => {
    const before = await stored();
    const ended = await runChild(server.url, key, 500, mode);
    expect(ended.code, ended.stderr).toBe(code);
    expect(await stored()).toBe(before + 500);
  });

  it('gives up within its time limit when the server does not answer', async () => {
    for (const mode of ['natural', 'exit']) {
      const ended = await runChild(silentUrl, key, 500, mode, { EXIT_TIMEOUT_MS: '1000' });
      expect(ended.code, ended.stderr).toBe(0);
      expect(ended.afterCalls, mode).toBeGreaterThan(800);
      expect(ended.afterCalls, mode).toBeLessThan(3000);
    }
  });

  it('exits at once when the server is down', async () => {
    const ended = await runChild('http://127.0.0.1:9', key, 500, 'natural', { EXIT_TIMEOUT_MS: '5000' });
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.afterCalls).toBeLessThan(1500);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@simscope/client';
import { forSuite } from '../test/fixtures.js';
import { buildCli, type CliOptions, cleanEnv } from './cli-process.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

interface CliSuite {
  /** The folder the CLI runs in. */
  work: string;
  server: ServerProcess;
  client: Client;
  /** How to run the CLI against the server: in `work`, with the config home where the server saved its URL and token. */
  cli: CliOptions;
}

/**
 * For one describe block: the server and the CLI built, a server process started in a fresh home, and a work
 * folder made ready by `prepare`, before the tests; the server stopped and both folders removed after them.
 * Its fields read the open suite.
 */
export function cliSuite(name: string, options: { prepare?(work: string): void; timeoutMs?: number } = {}) {
  const open = forSuite(
    async (): Promise<CliSuite & { home: string }> => {
      buildServer();
      buildCli();
      const home = mkdtempSync(join(tmpdir(), `simscope-${name}-e2e-`));
      const work = mkdtempSync(join(tmpdir(), `simscope-${name}-work-`));
      options.prepare?.(work);
      const server = await ServerProcess.start({ home });
      const env = cleanEnv({ XDG_CONFIG_HOME: join(home, 'config') });
      return {
        home,
        work,
        server,
        client: new Client({ url: server.url, token: E2E_TOKEN }),
        cli: { cwd: work, env, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) },
      };
    },
    async ({ server, home, work }) => {
      server.kill('SIGTERM');
      await server.waitForExit();
      rmSync(home, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    },
  );
  return {
    get work() {
      return open().work;
    },
    get server() {
      return open().server;
    },
    get client() {
      return open().client;
    },
    get cli() {
      return open().cli;
    },
  };
}

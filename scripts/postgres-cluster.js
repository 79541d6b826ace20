// Starts a throwaway PostgreSQL cluster on loopback (Debian's server binaries), for tests and benchmarks.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function postgresBin() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) {
    throw new Error(
      'PostgreSQL server not found under /usr/lib/postgresql: install the Debian package postgresql',
    );
  }
  const version = readdirSync(base)
    .sort((a, b) => Number(a) - Number(b))
    .at(-1);
  return join(base, version, 'bin');
}

/** Runs as the `postgres` user when we are root (initdb refuses root). */
function asPostgres(cmd, args) {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/**
 * Starts a cluster with trust auth on a free port; resolves when it accepts connections.
 * @returns {Promise<{ url: string, stop(): Promise<void> }>}
 */
export async function startPostgres({ fsync = false } = {}) {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'simscope-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const [initCmd, initArgs] = asPostgres(join(bin, 'initdb'), [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
  ]);
  execFileSync(initCmd, initArgs, { stdio: 'ignore' });
  const port = await freePort();
  const settings = [
    '-c',
    `fsync=${fsync ? 'on' : 'off'}`,
    '-c',
    'max_connections=200',
    '-c',
    'shared_buffers=256MB',
  ];
  const [cmd, args] = asPostgres(join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-h',
    '127.0.0.1',
    '-k',
    dir,
    ...settings,
  ]);
  const server = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (chunk) => {
    log += chunk;
  });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client(url);
    try {
      await client.connect();
      await client.end();
      break;
    } catch {
      if (Date.now() > deadline || server.exitCode !== null)
        throw new Error(`PostgreSQL did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async stop() {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        // Signal the postmaster itself: runuser does not pass signals on. SIGINT is PostgreSQL's fast shutdown.
        const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
        process.kill(pid, 'SIGINT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates a new database in the cluster at `adminUrl` and returns its URL. */
export async function createDatabase(adminUrl, name) {
  const client = new pg.Client(adminUrl);
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return adminUrl.replace(/\/postgres$/, `/${name}`);
}

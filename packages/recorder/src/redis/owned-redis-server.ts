import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectSocket, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecorderError } from '../errors.js';

/** Where a redis-server started by `RedisDataStore.start` listens, and its process. */
export interface OwnedRedisServer {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** The real path of the directory Redis persists into. */
  readonly dataDirectory: string;
}

/** Name of the file in the data directory that says where its server listens. */
export const SERVER_STATE_FILE = 'simscope-redis.json';

/** Client name every owning store sets, so the last one to close can tell it is the last. */
export const OWNER_CLIENT_NAME = 'simscope-recorder-owner';

export interface SpawnOptions {
  dataDirectory: string;
  host: string;
  port: number | undefined;
  password: string | undefined;
  binary: string;
  timeoutMs: number;
}

/** The server recorded in `dataDirectory`, if the state file is there and readable. */
export function readServerState(dataDirectory: string): { host: string; port: number } | undefined {
  try {
    const state = JSON.parse(readFileSync(join(dataDirectory, SERVER_STATE_FILE), 'utf8')) as unknown;
    if (typeof state !== 'object' || state === null) return undefined;
    const { host, port } = state as { host?: unknown; port?: unknown };
    return typeof host === 'string' && typeof port === 'number' ? { host, port } : undefined;
  } catch {
    return undefined;
  }
}

export function removeServerState(dataDirectory: string): void {
  rmSync(join(dataDirectory, SERVER_STATE_FILE), { force: true });
}

/**
 * Runs `redis-server` persisting into `dataDirectory` (append-only file, plus Redis's default
 * snapshots) and resolves once it answers PING; the process outlives a crash of this one, so
 * the next `start` in the same directory finds it through the state file.
 */
export async function spawnRedisServer(options: SpawnOptions): Promise<{ port: number; pid: number }> {
  const port = options.port ?? (await freePort(options.host));
  const args = [
    '--port',
    String(port),
    '--bind',
    options.host,
    '--dir',
    options.dataDirectory,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '3600 1 300 100 60 10000',
    '--logfile',
    'redis.log',
    '--daemonize',
    'no',
  ];
  if (options.password !== undefined) args.push('--requirepass', options.password);
  const child = spawn(options.binary, args, { cwd: options.dataDirectory, stdio: 'ignore' });
  let failure: Error | undefined;
  child.once('error', (error) => {
    failure = error;
  });
  child.once('exit', (code, signal) => {
    failure ??= new Error(
      `it exited with ${code ?? signal} (see ${join(options.dataDirectory, 'redis.log')})`,
    );
  });
  const deadline = Date.now() + options.timeoutMs;
  while (!(await answersPing(options.host, port))) {
    if (failure || Date.now() > deadline) {
      child.kill('SIGKILL');
      const why = failure?.message ?? `no answer on ${options.host}:${port} within ${options.timeoutMs} ms`;
      throw new RecorderError(
        (failure as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
          ? 'module_missing'
          : 'redis_unreachable',
        (failure as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
          ? `cannot run ${options.binary}: install Redis (apt-get install redis-server) or pass { redisServer: path }`
          : `redis-server did not start: ${why}`,
        { cause: failure },
      );
    }
    await sleep(25);
  }
  child.unref();
  writeFileSync(
    join(options.dataDirectory, SERVER_STATE_FILE),
    `${JSON.stringify({ host: options.host, port, pid: child.pid })}\n`,
  );
  return { port, pid: child.pid as number };
}

/** Resolves once no process `pid` is left, or rejects after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      throw new RecorderError('redis_error', `redis-server (pid ${pid}) did not stop within ${timeoutMs} ms`);
    }
    await sleep(20);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// -LOADING (still replaying the append-only file) is not ready; -NOAUTH is a server with a
// password that is up and ready.
function answersPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectSocket({ host, port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port')),
      );
    });
  });
}

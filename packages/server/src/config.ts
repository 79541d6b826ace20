import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_HOST, DEFAULT_PORT, LIMITS, SimscopeError } from '@simscope/protocol';
import { parse as parseToml } from 'smol-toml';

/** Settings of a server process, read once at start. */
export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  /** `postgres://…` URL or a SQLite file; empty for `DATA_DIR/simscope.db`. */
  db: string;
  logLevel: string;
  bodyLimit: number;
  /** Seconds between sweeps for lost runs. */
  sweepInterval: number;
  /** Where the client and CLI look for URL and token. */
  userConfigFile: string;
  /** Benchmarks only (`SIMSCOPE_BENCH_SINK=1`): a metric route that decodes and stores nothing. */
  sinkRoute: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The user config file: `SIMSCOPE_CONFIG`, else `$XDG_CONFIG_HOME/simscope/config.toml`. */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIMSCOPE_CONFIG) return resolve(env.SIMSCOPE_CONFIG);
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'simscope', 'config.toml');
}

function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'simscope');
}

function parseSweepInterval(value: string | undefined): number {
  if (!value) return 5;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new SimscopeError(
      'invalid_field',
      `SIMSCOPE_SWEEP_INTERVAL: must be a positive number of seconds, got '${value}'`,
    );
  }
  return seconds;
}

/** The nearest `simscope.toml` from `cwd` upwards, if any. */
export function findProjectConfig(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const file = join(dir, 'simscope.toml');
    if (existsSync(file)) return file;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readServerSection(file: string | undefined): Record<string, unknown> {
  if (!file || !existsSync(file)) return {};
  try {
    const doc = parseToml(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const server = doc.server;
    if (typeof server !== 'object' || server === null) return {};
    const section = { ...(server as Record<string, unknown>) };
    // A relative data directory in a file means relative to that file.
    if (typeof section.data_dir === 'string') section.data_dir = resolve(dirname(file), section.data_dir);
    return section;
  } catch (error) {
    throw new SimscopeError('invalid_field', `${file}: not valid TOML: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Reads settings with the precedence flag > env > project `simscope.toml` > user config > default;
 * both files hold them under `[server]` (`host`, `port`, `data_dir`, `db`, `log_level`, `body_limit`).
 */
export function loadServerConfig(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): ServerConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      db: { type: 'string' },
      'log-level': { type: 'string' },
      'body-limit': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      `Usage: simscope server [--host H] [--port P] [--data-dir DIR] [--db URL|FILE] [--log-level L] [--body-limit BYTES]\n`,
    );
    process.exit(0);
  }
  const userFile = userConfigPath(env);
  const user = readServerSection(userFile);
  const project = readServerSection(findProjectConfig(cwd));
  const pick = (flag: string | undefined, envName: string, key: string): string | undefined => {
    const fromFile = project[key] ?? user[key];
    return flag || env[envName] || (fromFile === undefined ? undefined : String(fromFile));
  };
  const port = Number(pick(values.port, 'SIMSCOPE_PORT', 'port') ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SimscopeError('invalid_field', `port: must be a whole number from 0 to 65535`);
  }
  const logLevel = pick(values['log-level'], 'SIMSCOPE_LOG_LEVEL', 'log_level') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new SimscopeError(
      'invalid_field',
      `log level: must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`,
    );
  }
  const bodyLimit = Number(
    pick(values['body-limit'], 'SIMSCOPE_BODY_LIMIT', 'body_limit') ?? LIMITS.bodyBytes,
  );
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1024) {
    throw new SimscopeError('invalid_field', 'body limit: must be a whole number of bytes, at least 1024');
  }
  return {
    host: pick(values.host, 'SIMSCOPE_HOST', 'host') ?? DEFAULT_HOST,
    port,
    dataDir: resolve(cwd, pick(values['data-dir'], 'SIMSCOPE_DATA_DIR', 'data_dir') ?? defaultDataDir(env)),
    db: pick(values.db, 'SIMSCOPE_DB', 'db') ?? '',
    logLevel,
    bodyLimit,
    sweepInterval: parseSweepInterval(env.SIMSCOPE_SWEEP_INTERVAL),
    userConfigFile: userFile,
    sinkRoute: env.SIMSCOPE_BENCH_SINK === '1',
  };
}

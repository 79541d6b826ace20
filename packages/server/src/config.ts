import { homedir, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { findProjectFile, readTomlFile, userConfigFile } from '@simscope/config';
import { DEFAULT_HOST, DEFAULT_PORT, LIMITS, SimscopeError } from '@simscope/protocol';
import { OIDC_FLAGS, readOidcSettings } from './oidc-settings.js';
import { parseAllowList } from './services/address-policy.js';
import type { SmtpConfig } from './services/email-notifier.js';
import { DEFAULT_MAX_SCAN_POINTS } from './services/metric-service.js';
import { parseRateLimits, type RateLimits } from './services/rate-limit.js';
import type { OidcConfig } from './services/sign-in-config.js';

/** Settings of a server process, read once at start. */
export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  /** `postgres://…` URL or a SQLite file; empty for `DATA_DIR/simscope.db`. */
  db: string;
  logLevel: string;
  bodyLimit: number;
  /** Points one downsampling request may scan (`max_scan_points`). */
  maxScanPoints: number;
  /** Seconds between sweeps for lost runs. */
  sweepInterval: number;
  /** Seconds a SIGTERM waits for in-flight requests before the process exits anyway (`SIMSCOPE_SHUTDOWN_TIMEOUT`). */
  shutdownTimeout: number;
  /** Where the client and CLI look for URL and token. */
  userConfigFile: string;
  /** Benchmarks only (`SIMSCOPE_BENCH_SINK=1`): a metric route that decodes and stores nothing. */
  sinkRoute: boolean;
  /** Seconds between passes of the alert engine. */
  alertInterval: number;
  /** Mail server for alert emails; null when none is configured (email notifications then fail, logged). */
  smtp: SmtpConfig | null;
  /** Key of the HMAC signature on webhook deliveries; null sends them unsigned. */
  webhookSecret: string | null;
  /** Hostnames and CIDR ranges of non-public addresses webhooks may reach; empty: none (the default). */
  webhookAllow: string[];
  /** The address people reach this server at, for links in notifications; null: none given. */
  publicUrl: string | null;
  /** Where artifact bytes go: a directory (default `DATA_DIR/artifacts`) or `s3://BUCKET/PREFIX?endpoint=…`. */
  blobStore: string;
  /** Bytes of artifacts each workspace may hold; null for no limit. */
  artifactQuota: number | null;
  /** Port of a listener on `metricsHost` that serves `/metrics` without a token; null: none (the default). */
  metricsPort: number | null;
  /** Address of that listener (default 127.0.0.1: only this host may scrape). */
  metricsHost: string;
  /** Requests, points and artifact bytes per token and per workspace (`--rate-limit`); empty: none (the default). */
  rateLimits: RateLimits;
  /** Seconds between passes of the retention rules. */
  retentionInterval: number;
  /** Single sign-on with an OpenID Connect provider (`--oidc-*`); null: none (the default). */
  oidc: OidcConfig | null;
}

const SMTP_TLS_MODES = ['opportunistic', 'starttls', 'implicit', 'none'] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The user config file: `SIMSCOPE_CONFIG`, else `$XDG_CONFIG_HOME/simscope/config.toml`. */
export const userConfigPath = userConfigFile;

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

function parseShutdownTimeout(value: string | undefined): number {
  if (!value) return 10;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new SimscopeError(
      'invalid_field',
      `SIMSCOPE_SHUTDOWN_TIMEOUT: must be a number of seconds from 0 to 3600, got '${value}'`,
    );
  }
  return seconds;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Reads a byte count such as `5000000`, `500MB`, `10GiB` or `1.5T`; `0`, `none` or nothing is no limit. */
function parseByteSize(value: string | undefined, what: string): number | null {
  if (value === undefined || value === '' || value === 'none' || value === '0') return null;
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = match ? BYTE_UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new SimscopeError(
      'invalid_field',
      `${what}: '${value}' is not a size; use bytes or forms like 500MB, 10GB, 1TiB (0 or none: no limit)`,
    );
  }
  return Math.floor(Number(match[1]) * unit);
}

/** The nearest `simscope.toml` from `cwd` upwards, if any. */
export const findProjectConfig = findProjectFile;

function readServerSection(file: string | undefined): Record<string, unknown> {
  const server = readTomlFile(file).server;
  if (!file || typeof server !== 'object' || server === null) return {};
  const section = { ...(server as Record<string, unknown>) };
  // A relative data directory in a file means relative to that file.
  if (typeof section.data_dir === 'string') section.data_dir = resolve(dirname(file), section.data_dir);
  if (typeof section.blob_store === 'string' && !section.blob_store.startsWith('s3://')) {
    section.blob_store = resolve(dirname(file), section.blob_store);
  }
  return section;
}

/**
 * Reads settings with the precedence flag > env > project `simscope.toml` > user config > default;
 * both files hold them under `[server]` (`host`, `port`, `data_dir`, `db`, `log_level`, `body_limit`,
 * `max_scan_points`, `blob_store`, `artifact_quota`).
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
      'max-scan-points': { type: 'string' },
      'alert-interval': { type: 'string' },
      'smtp-host': { type: 'string' },
      'smtp-port': { type: 'string' },
      'smtp-tls': { type: 'string' },
      'smtp-user': { type: 'string' },
      'smtp-password': { type: 'string' },
      'smtp-from': { type: 'string' },
      'webhook-secret': { type: 'string' },
      'webhook-allow': { type: 'string' },
      'public-url': { type: 'string' },
      'blob-store': { type: 'string' },
      'artifact-quota': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
      'rate-limit': { type: 'string' },
      'retention-interval': { type: 'string' },
      ...OIDC_FLAGS,
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      `Usage: simscope server [--host H] [--port P] [--data-dir DIR] [--db URL|FILE] [--log-level L] [--body-limit BYTES]
                       [--max-scan-points N]
                       [--blob-store DIR|s3://BUCKET/PREFIX] [--artifact-quota SIZE]
                       [--alert-interval SECONDS] [--public-url URL] [--webhook-secret SECRET]
                       [--webhook-allow HOST|CIDR,...]
                       [--metrics-port P] [--metrics-host H] [--rate-limit SUBJECT.KIND=N,...]
                       [--retention-interval SECONDS]
                       [--oidc-issuer URL --oidc-client-id ID --oidc-client-secret S] [--oidc-redirect-uri URL]
                       [--oidc-scope S] [--oidc-groups-claim C] [--oidc-workspaces GROUP=WS,...] [--oidc-name N]
                       [--smtp-host H] [--smtp-port P] [--smtp-tls ${SMTP_TLS_MODES.join('|')}] [--smtp-user U]
                       [--smtp-password P] [--smtp-from ADDRESS]\n`,
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
  const scanText =
    pick(values['max-scan-points'], 'SIMSCOPE_MAX_SCAN_POINTS', 'max_scan_points') ??
    String(DEFAULT_MAX_SCAN_POINTS);
  const maxScanPoints = Number(scanText);
  if (!Number.isSafeInteger(maxScanPoints) || maxScanPoints < 1000) {
    throw new SimscopeError(
      'invalid_field',
      `max scan points: must be a whole number, at least 1000, got '${scanText}'`,
    );
  }
  const alertText = pick(values['alert-interval'], 'SIMSCOPE_ALERT_INTERVAL', 'alert_interval') ?? '1';
  const alertInterval = Number(alertText);
  if (!Number.isFinite(alertInterval) || alertInterval < 0.05 || alertInterval > 3600) {
    throw new SimscopeError(
      'invalid_field',
      `alert interval: must be a number of seconds from 0.05 to 3600, got '${alertText}'`,
    );
  }
  const publicUrl = pick(values['public-url'], 'SIMSCOPE_PUBLIC_URL', 'public_url') ?? null;
  if (publicUrl !== null && !/^https?:\/\/[^/\s]+/.test(publicUrl)) {
    throw new SimscopeError(
      'invalid_field',
      `public url: must be an http:// or https:// URL, got '${publicUrl}'`,
    );
  }
  const dataDir = resolve(
    cwd,
    pick(values['data-dir'], 'SIMSCOPE_DATA_DIR', 'data_dir') ?? defaultDataDir(env),
  );
  const blobStore =
    pick(values['blob-store'], 'SIMSCOPE_BLOB_STORE', 'blob_store') ?? join(dataDir, 'artifacts');
  return {
    host: pick(values.host, 'SIMSCOPE_HOST', 'host') ?? DEFAULT_HOST,
    port,
    dataDir,
    db: pick(values.db, 'SIMSCOPE_DB', 'db') ?? '',
    logLevel,
    bodyLimit,
    maxScanPoints,
    sweepInterval: parseSweepInterval(env.SIMSCOPE_SWEEP_INTERVAL),
    shutdownTimeout: parseShutdownTimeout(env.SIMSCOPE_SHUTDOWN_TIMEOUT),
    userConfigFile: userFile,
    sinkRoute: env.SIMSCOPE_BENCH_SINK === '1',
    alertInterval,
    smtp: readSmtp((flag, envName, key) =>
      pick(values[flag as keyof typeof values] as string | undefined, envName, key),
    ),
    webhookSecret: pick(values['webhook-secret'], 'SIMSCOPE_WEBHOOK_SECRET', 'webhook_secret') || null,
    webhookAllow: parseAllowList(
      pick(values['webhook-allow'], 'SIMSCOPE_WEBHOOK_ALLOW', 'webhook_allow') ?? '',
      'webhook allow',
    ),
    publicUrl: publicUrl?.replace(/\/+$/, '') ?? null,
    blobStore: blobStore.startsWith('s3://') ? blobStore : resolve(cwd, blobStore),
    artifactQuota: parseByteSize(
      pick(values['artifact-quota'], 'SIMSCOPE_ARTIFACT_QUOTA', 'artifact_quota'),
      'artifact quota',
    ),
    ...readOperations((flag, envName, key) =>
      pick(values[flag as keyof typeof values] as string | undefined, envName, key),
    ),
    oidc: readOidcSettings(
      (flag) =>
        pick(values[flag], `SIMSCOPE_${flag.toUpperCase().replaceAll('-', '_')}`, flag.replaceAll('-', '_')),
      publicUrl?.replace(/\/+$/, '') ?? null,
    ),
  };
}

/** Metrics listener, rate limits and retention pass settings (`--metrics-port` …, `SIMSCOPE_*`, `[server]` keys). */
function readOperations(
  pick: (flag: string, envName: string, key: string) => string | undefined,
): Pick<ServerConfig, 'metricsPort' | 'metricsHost' | 'rateLimits' | 'retentionInterval'> {
  const get = (flag: string) =>
    pick(flag, `SIMSCOPE_${flag.toUpperCase().replaceAll('-', '_')}`, flag.replaceAll('-', '_'));
  const portText = get('metrics-port');
  const metricsPort = portText === undefined ? null : Number(portText);
  if (metricsPort !== null && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) {
    throw new SimscopeError(
      'invalid_field',
      `metrics port: must be a whole number from 0 to 65535, got '${portText}'`,
    );
  }
  const retentionText = get('retention-interval') ?? '3600';
  const retentionInterval = Number(retentionText);
  if (!Number.isFinite(retentionInterval) || retentionInterval < 1) {
    throw new SimscopeError(
      'invalid_field',
      `retention interval: must be a number of seconds, at least 1, got '${retentionText}'`,
    );
  }
  return {
    metricsPort,
    metricsHost: get('metrics-host') ?? '127.0.0.1',
    rateLimits: parseRateLimits(get('rate-limit')),
    retentionInterval,
  };
}

/** SMTP settings (`--smtp-*`, `SIMSCOPE_SMTP_*`, `smtp_*` keys), or null when no host is given. */
function readSmtp(
  pick: (flag: string, envName: string, key: string) => string | undefined,
): SmtpConfig | null {
  const get = (name: string) => pick(`smtp-${name}`, `SIMSCOPE_SMTP_${name.toUpperCase()}`, `smtp_${name}`);
  const host = get('host');
  if (!host) return null;
  const tls = (get('tls') ?? 'opportunistic') as SmtpConfig['tls'];
  if (!(SMTP_TLS_MODES as readonly string[]).includes(tls)) {
    throw new SimscopeError(
      'invalid_field',
      `smtp tls: must be one of ${SMTP_TLS_MODES.join(', ')}, got '${tls}'`,
    );
  }
  const portText = get('port') ?? (tls === 'implicit' ? '465' : '587');
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SimscopeError(
      'invalid_field',
      `smtp port: must be a whole number from 1 to 65535, got '${portText}'`,
    );
  }
  const from = get('from') ?? `simscope@${hostname()}`;
  if (!/^[^\s@]+@[^\s@]+$/.test(from) && !/<[^\s@]+@[^\s@]+>$/.test(from)) {
    throw new SimscopeError('invalid_field', `smtp from: must be an email address, got '${from}'`);
  }
  return { host, port, tls, user: get('user') ?? null, password: get('password') ?? null, from };
}

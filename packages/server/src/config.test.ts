import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseToml } from '@simscope/config';
import { LIMITS, SimscopeError } from '@simscope/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, openTestStore } from '../../../test/fixtures.js';
import { bootstrap, savedToken, saveLocalProfile } from './bootstrap.js';
import { findProjectConfig, loadServerConfig, userConfigPath } from './config.js';
import { hashToken } from './services/auth-service.js';

describe('loadServerConfig', () => {
  let root: string;
  let userFile: string;
  let projectDir: string;
  let cwd: string;
  let outside: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'simscope-config-'));
    userFile = join(root, 'home', 'user.toml');
    projectDir = join(root, 'project');
    cwd = join(projectDir, 'runs', 'today');
    outside = join(root, 'elsewhere');
    mkdirSync(join(root, 'home'));
    mkdirSync(cwd, { recursive: true });
    mkdirSync(outside);
    writeFileSync(
      userFile,
      [
        '[server]',
        'host = "10.0.0.7"',
        'port = 7001',
        'log_level = "debug"',
        `data_dir = "${join(root, 'user-data')}"`,
        'db = "user.db"',
        'body_limit = 4096',
      ].join('\n'),
    );
    writeFileSync(join(projectDir, 'simscope.toml'), '[server]\nport = 6001\nlog_level = "error"\n');
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const envOf = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    SIMSCOPE_CONFIG: userFile,
    XDG_DATA_HOME: join(root, 'xdg-data'),
    ...extra,
  });

  it('reads the blob store and the artifact quota, with units', () => {
    const defaults = loadServerConfig([], envOf(), outside);
    expect(defaults.blobStore).toBe(join(root, 'user-data', 'artifacts'));
    expect(defaults.artifactQuota).toBeNull();
    const flags = loadServerConfig(['--blob-store', 'blobs', '--artifact-quota', '10GB'], envOf(), outside);
    expect(flags.blobStore).toBe(join(outside, 'blobs'));
    expect(flags.artifactQuota).toBe(10_000_000_000);
    const s3 = 's3://bucket/prefix?endpoint=http://127.0.0.1:9000';
    const env = envOf({ SIMSCOPE_BLOB_STORE: s3, SIMSCOPE_ARTIFACT_QUOTA: '1.5GiB' });
    expect(loadServerConfig([], env, outside)).toMatchObject({ blobStore: s3, artifactQuota: 1.5 * 2 ** 30 });
    writeFileSync(
      join(projectDir, 'simscope.toml'),
      '[server]\nblob_store = "store"\nartifact_quota = 5000\n',
    );
    expect(loadServerConfig([], envOf(), cwd)).toMatchObject({
      blobStore: join(projectDir, 'store'),
      artifactQuota: 5000,
    });
    expect(loadServerConfig(['--artifact-quota', 'none'], envOf(), cwd).artifactQuota).toBeNull();
    expect(() => loadServerConfig(['--artifact-quota', '10 parsecs'], envOf(), cwd)).toThrow(
      "artifact quota: '10 parsecs' is not a size; use bytes or forms like 500MB, 10GB, 1TiB (0 or none: no limit)",
    );
  });

  it('takes a flag over env over the project file over the user file over the default', () => {
    const env = envOf({ SIMSCOPE_PORT: '5001' });
    expect(loadServerConfig(['--port', '4001'], env, cwd).port).toBe(4001);
    expect(loadServerConfig([], env, cwd).port).toBe(5001);
    expect(loadServerConfig([], envOf(), cwd).port).toBe(6001);
    expect(findProjectConfig(outside)).toBeUndefined();
    expect(loadServerConfig([], envOf(), outside).port).toBe(7001);
    expect(loadServerConfig([], envOf({ SIMSCOPE_CONFIG: join(root, 'missing.toml') }), outside).port).toBe(
      5280,
    );
  });

  it('resolves each setting on its own: the project file overrides only the keys it sets', () => {
    const config = loadServerConfig(['--host', '0.0.0.0'], envOf({ SIMSCOPE_DB: 'postgres://db/x' }), cwd);
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 6001,
      dataDir: join(root, 'user-data'),
      db: 'postgres://db/x',
      logLevel: 'error',
      bodyLimit: 4096,
      sweepInterval: 5,
      shutdownTimeout: 10,
      userConfigFile: userFile,
    });
  });

  it('finds the nearest simscope.toml from cwd upwards', () => {
    expect(findProjectConfig(cwd)).toBe(join(projectDir, 'simscope.toml'));
    writeFileSync(join(projectDir, 'runs', 'simscope.toml'), '[server]\nport = 6002\n');
    expect(findProjectConfig(cwd)).toBe(join(projectDir, 'runs', 'simscope.toml'));
    expect(loadServerConfig([], envOf(), cwd)).toMatchObject({ port: 6002, logLevel: 'debug' });
  });

  it('falls back to the defaults when no file or variable sets anything', () => {
    const env = { XDG_CONFIG_HOME: join(root, 'xdg-config'), XDG_DATA_HOME: join(root, 'xdg-data') };
    expect(loadServerConfig([], env, outside)).toMatchObject({
      host: '127.0.0.1',
      port: 5280,
      dataDir: join(root, 'xdg-data', 'simscope'),
      db: '',
      logLevel: 'info',
      bodyLimit: LIMITS.bodyBytes,
      sweepInterval: 5,
      shutdownTimeout: 10,
      userConfigFile: join(root, 'xdg-config', 'simscope', 'config.toml'),
    });
    expect(userConfigPath(env)).toBe(join(root, 'xdg-config', 'simscope', 'config.toml'));
  });

  it('refuses a bad port, log level or body limit wherever it comes from, naming the setting', () => {
    const fails = (argv: string[], env: NodeJS.ProcessEnv, dir = outside) => {
      try {
        loadServerConfig(argv, env, dir);
      } catch (error) {
        expect(error).toBeInstanceOf(SimscopeError);
        expect((error as SimscopeError).code).toBe('invalid_field');
        return (error as Error).message;
      }
      throw new Error(`accepted ${argv.join(' ')}`);
    };
    const port = 'port: must be a whole number from 0 to 65535';
    expect(fails(['--port', 'http'], envOf())).toBe(port);
    expect(fails(['--port', '65536'], envOf())).toBe(port);
    expect(fails(['--port', '80.5'], envOf())).toBe(port);
    expect(fails([], envOf({ SIMSCOPE_PORT: '-1' }))).toBe(port);
    writeFileSync(join(projectDir, 'simscope.toml'), '[server]\nport = 70000\n');
    expect(fails([], envOf(), cwd)).toBe(port);
    expect(fails(['--log-level', 'loud'], envOf())).toBe(
      "log level: must be one of fatal, error, warn, info, debug, trace, silent, got 'loud'",
    );
    expect(fails([], envOf({ SIMSCOPE_LOG_LEVEL: 'INFO' }))).toBe(
      "log level: must be one of fatal, error, warn, info, debug, trace, silent, got 'INFO'",
    );
    expect(fails(['--body-limit', '100'], envOf())).toBe(
      'body limit: must be a whole number of bytes, at least 1024',
    );
  });

  it('reports a config file that is not TOML with its path, and an unknown flag', () => {
    writeFileSync(userFile, '[server\nport = 1');
    expect(() => loadServerConfig([], envOf(), outside)).toThrow(`${userFile}: not valid TOML: `);
    expect(() => loadServerConfig(['--prot', '1'], envOf(), outside)).toThrow(TypeError);
    expect(() => loadServerConfig(['--prot', '1'], envOf(), outside)).toThrow("Unknown option '--prot'");
  });
});

describe.each(BACKENDS)('bootstrap and the saved profile on %s', (backend) => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-profile-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the admin once and saves its token as profile local, mode 0600, keeping other profiles', async () => {
    const { store, cleanup } = await openTestStore(backend);
    try {
      const token = 'ssk_fixed_bootstrap_token_00000000000000000000';
      expect(await bootstrap(store, 42, token)).toEqual({ token });
      expect(await bootstrap(store, 43, 'ssk_other')).toEqual({ token: null });
      expect(await store.identity.countUsers()).toBe(1);
      const found = await store.identity.findToken(hashToken(token));
      expect(found?.user).toMatchObject({ name: 'admin', isAdmin: true, createdAt: 42 });
      expect(found?.token.scopes).toEqual(['read', 'write', 'admin']);
      expect((await store.identity.listUserWorkspaces(found!.user.id)).map((w) => w.name)).toEqual([
        'default',
      ]);

      const file = join(dir, 'config.toml');
      writeFileSync(
        file,
        [
          'default_profile = "cluster"',
          'editor = "vim"',
          '[profiles.cluster]',
          'url = "https://simscope.example.org"',
          'token = "ssk_cluster"',
        ].join('\n'),
      );
      chmodSync(file, 0o644);
      saveLocalProfile(file, 'http://127.0.0.1:5280', token);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(parseToml(readFileSync(file, 'utf8'))).toEqual({
        default_profile: 'cluster',
        editor: 'vim',
        profiles: {
          cluster: { url: 'https://simscope.example.org', token: 'ssk_cluster' },
          local: { url: 'http://127.0.0.1:5280', token },
        },
      });
      expect(savedToken(file, 'http://127.0.0.1:5280')).toBe(token);
      expect(savedToken(file, 'https://simscope.example.org')).toBe('ssk_cluster');
      expect(savedToken(file, 'http://127.0.0.1:9999')).toBeUndefined();
    } finally {
      await cleanup();
    }
  });

  it('creates a missing config file and its folders, mode 0600, with local as the default profile', () => {
    const file = join(dir, 'xdg', 'simscope', 'config.toml');
    saveLocalProfile(file, 'http://127.0.0.1:6000', 'ssk_new');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'xdg', 'simscope')).mode & 0o777).toBe(0o700);
    expect(parseToml(readFileSync(file, 'utf8'))).toEqual({
      default_profile: 'local',
      profiles: { local: { url: 'http://127.0.0.1:6000', token: 'ssk_new' } },
    });
  });
});

describe('alert settings in the server config', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'simscope-config-alerts-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('reads SMTP, webhook secret, public URL and alert interval from flags, env and files', () => {
    const userFile = join(root, 'user.toml');
    writeFileSync(
      userFile,
      [
        '[server]',
        'smtp_host = "mail.example.org"',
        'smtp_user = "simscope"',
        'smtp_password = "from-file"',
        'smtp_tls = "starttls"',
        'webhook_secret = "file-secret"',
        'alert_interval = 5',
      ].join('\n'),
    );
    const env = { SIMSCOPE_CONFIG: userFile, SIMSCOPE_SMTP_FROM: 'Simscope <alerts@example.org>' };
    const config = loadServerConfig(
      ['--smtp-port', '2525', '--public-url', 'https://simscope.example.org/'],
      env,
      root,
    );
    expect(config).toMatchObject({
      alertInterval: 5,
      webhookSecret: 'file-secret',
      publicUrl: 'https://simscope.example.org',
      smtp: {
        host: 'mail.example.org',
        port: 2525,
        tls: 'starttls',
        user: 'simscope',
        password: 'from-file',
        from: 'Simscope <alerts@example.org>',
      },
    });
    const implicit = loadServerConfig(['--smtp-tls', 'implicit'], env, root);
    expect(implicit.smtp?.port).toBe(465);
    const none = loadServerConfig([], { SIMSCOPE_CONFIG: join(root, 'missing.toml') }, root);
    expect(none).toMatchObject({ smtp: null, webhookSecret: null, publicUrl: null, alertInterval: 1 });
  });

  it('reads the webhook allow-list from the flag, env or file, as a string or a list, and refuses a bad entry', () => {
    const userFile = join(root, 'user.toml');
    writeFileSync(userFile, ['[server]', 'webhook_allow = ["10.0.0.0/8", "Hooks.Internal"]'].join('\n'));
    const env = { SIMSCOPE_CONFIG: userFile };
    expect(loadServerConfig([], env, root).webhookAllow).toEqual(['10.0.0.0/8', 'hooks.internal']);
    expect(
      loadServerConfig([], { ...env, SIMSCOPE_WEBHOOK_ALLOW: '127.0.0.1/32, hooks.internal' }, root)
        .webhookAllow,
    ).toEqual(['127.0.0.1/32', 'hooks.internal']);
    expect(loadServerConfig(['--webhook-allow', '::1'], env, root).webhookAllow).toEqual(['::1']);
    const none = loadServerConfig([], { SIMSCOPE_CONFIG: join(root, 'missing.toml') }, root);
    expect(none.webhookAllow).toEqual([]);
    expect(() => loadServerConfig(['--webhook-allow', '10.0.0.0/40'], env, root)).toThrow(
      "webhook allow: '10.0.0.0/40' is not a hostname, an IP address or a CIDR range",
    );
  });

  it('names the setting that is wrong', () => {
    const env = { SIMSCOPE_CONFIG: join(root, 'missing.toml') };
    const bad: [string[], string][] = [
      [
        ['--smtp-host', 'h', '--smtp-tls', 'ssl'],
        'smtp tls: must be one of opportunistic, starttls, implicit, none',
      ],
      [['--smtp-host', 'h', '--smtp-port', '99999'], 'smtp port: must be a whole number from 1 to 65535'],
      [['--smtp-host', 'h', '--smtp-from', 'nobody'], "smtp from: must be an email address, got 'nobody'"],
      [['--alert-interval', '0'], "alert interval: must be a number of seconds from 0.05 to 3600, got '0'"],
      [['--public-url', 'simscope.example.org'], 'public url: must be an http:// or https:// URL'],
    ];
    for (const [argv, message] of bad) {
      expect(() => loadServerConfig(argv, env, root)).toThrow(message);
    }
  });
});

import { DEFAULT_HOST, DEFAULT_PORT, SimscopeError } from '@simscope/protocol';
import { findProjectFile, userConfigFile } from './config-paths.js';
import { readTomlFile, type TomlDoc } from './toml-file.js';

/** URL, token, workspace and profile as a person or a program may give them; every field optional. */
export interface ConnectionValues {
  url?: string | undefined;
  token?: string | undefined;
  /** Workspace name or id, sent as the `Simscope-Workspace` header. */
  workspace?: string | undefined;
  /** A profile of the user config file (`[profiles.NAME]`). */
  profile?: string | undefined;
}

/** Where a connection setting came from, highest first. */
export const SETTING_SOURCES = ['flag', 'env', 'option', 'project', 'user', 'default', 'none'] as const;
export type SettingSource = (typeof SETTING_SOURCES)[number];

/** One resolved setting: its value (null when nothing set it), its kind of source, and that source in words. */
export interface Setting {
  value: string | null;
  source: SettingSource;
  /** For people: `flag --url`, `env SIMSCOPE_URL`, the file's path, `profile 'lab' in FILE`, `default` … */
  where: string;
}

export interface ConnectionInput {
  /** Command-line flags: they beat the environment. */
  flags?: ConnectionValues;
  /** Values given in code: the environment beats them, so a job script can point a program elsewhere. */
  options?: ConnectionValues;
  env?: NodeJS.ProcessEnv;
  /** Where the search for a project `simscope.toml` starts. */
  cwd?: string;
}

/** Every connection setting with its source, and the files and profiles that were read. */
export interface ConnectionSettings {
  configFile: string;
  projectFile: string | null;
  profile: Setting;
  url: Setting;
  token: Setting;
  workspace: Setting;
  profiles: { name: string; url: string | null; default: boolean }[];
}

/** The connection a client uses. */
export interface ResolvedConnection {
  url: string;
  token: string | undefined;
  workspace: string | undefined;
}

/** The environment variable of each setting. */
export const CONNECTION_ENV = {
  url: 'SIMSCOPE_URL',
  token: 'SIMSCOPE_TOKEN',
  workspace: 'SIMSCOPE_WORKSPACE',
  profile: 'SIMSCOPE_PROFILE',
} as const;

type ProfileEntry = { url?: unknown; token?: unknown; workspace?: unknown };
type Candidate = [value: unknown, source: SettingSource, where: string];

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function first(candidates: Candidate[], fallback: Setting): Setting {
  for (const [value, source, where] of candidates) {
    const t = text(value);
    if (t !== undefined) return { value: t, source, where };
  }
  return fallback;
}

function profilesOf(user: TomlDoc): Record<string, ProfileEntry> {
  const profiles = user.profiles;
  return typeof profiles === 'object' && profiles !== null ? (profiles as Record<string, ProfileEntry>) : {};
}

/**
 * Each connection setting from the first of: flag, environment (`SIMSCOPE_URL`, `SIMSCOPE_TOKEN`,
 * `SIMSCOPE_WORKSPACE`, `SIMSCOPE_PROFILE`), value given in code, the project `simscope.toml` (top-level `url`,
 * `token`, `workspace`, `profile`), the user config's profile (the profile setting, else `default_profile`),
 * then the default (URL `http://127.0.0.1:5280`; no token; the user's first workspace).
 */
export function describeConnection(input: ConnectionInput = {}): ConnectionSettings {
  const env = input.env ?? process.env;
  const flags = input.flags ?? {};
  const options = input.options ?? {};
  const configFile = userConfigFile(env);
  const projectFile = findProjectFile(input.cwd ?? process.cwd()) ?? null;
  const user = readTomlFile(configFile);
  const project = readTomlFile(projectFile ?? undefined);
  const profiles = profilesOf(user);
  const defaultProfile = text(user.default_profile);
  const profile = first(
    [
      [flags.profile, 'flag', 'flag --profile'],
      [env.SIMSCOPE_PROFILE, 'env', 'env SIMSCOPE_PROFILE'],
      [options.profile, 'option', 'option profile'],
      [project.profile, 'project', `profile in ${projectFile}`],
      [defaultProfile, 'user', `default_profile in ${configFile}`],
    ],
    { value: null, source: 'none', where: 'none' },
  );
  const entry = profile.value === null ? undefined : profiles[profile.value];
  const pick = (key: 'url' | 'token' | 'workspace', fallback: Setting): Setting =>
    first(
      [
        [flags[key], 'flag', `flag --${key}`],
        [env[CONNECTION_ENV[key]], 'env', `env ${CONNECTION_ENV[key]}`],
        [options[key], 'option', `option ${key}`],
        [project[key], 'project', `${projectFile}`],
        [entry?.[key], 'user', `profile '${profile.value}' in ${configFile}`],
      ],
      fallback,
    );
  return {
    configFile,
    projectFile,
    profile,
    url: pick('url', {
      value: `http://${DEFAULT_HOST}:${DEFAULT_PORT}`,
      source: 'default',
      where: 'default',
    }),
    token: pick('token', { value: null, source: 'none', where: 'none' }),
    workspace: pick('workspace', { value: null, source: 'none', where: "none (the user's first workspace)" }),
    profiles: Object.entries(profiles).map(([name, p]) => ({
      name,
      url: text(p?.url) ?? null,
      default: name === defaultProfile,
    })),
  };
}

/**
 * The URL (without a trailing slash), token and workspace to use, resolved as `describeConnection` says.
 * @throws SimscopeError `not_found` when a profile named by flag, environment or code is not in the user config.
 */
export function resolveConnection(input: ConnectionInput = {}): ResolvedConnection {
  const settings = describeConnection(input);
  const { profile } = settings;
  const named = profile.source === 'flag' || profile.source === 'env' || profile.source === 'option';
  if (named && profile.value !== null && !settings.profiles.some((p) => p.name === profile.value)) {
    throw new SimscopeError('not_found', `profile '${profile.value}' not found in ${settings.configFile}`);
  }
  return {
    url: (settings.url.value ?? '').replace(/\/+$/, ''),
    token: settings.token.value ?? undefined,
    workspace: settings.workspace.value ?? undefined,
  };
}

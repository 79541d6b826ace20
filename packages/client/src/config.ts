import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_HOST, DEFAULT_PORT, SimscopeError } from '@simscope/protocol';
import { parse as parseToml } from 'smol-toml';

/** Where to find the server: every field optional; see `resolveConfig` for where missing ones come from. */
export interface ConnectionOptions {
  url?: string;
  token?: string;
  /** A profile of the user config file (`[profiles.NAME]`). */
  profile?: string;
  /** Workspace name or id, sent as the `Simscope-Workspace` header. */
  workspace?: string;
}

export interface ResolvedConnection {
  url: string;
  token: string | undefined;
  workspace: string | undefined;
}

type TomlDoc = Record<string, unknown> & {
  default_profile?: string;
  profiles?: Record<string, { url?: string; token?: string; workspace?: string }>;
};

function readToml(file: string | undefined): TomlDoc {
  if (!file || !existsSync(file)) return {};
  try {
    return parseToml(readFileSync(file, 'utf8')) as TomlDoc;
  } catch (error) {
    throw new SimscopeError('invalid_field', `${file}: not valid TOML: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The user config file: `SIMSCOPE_CONFIG`, else `$XDG_CONFIG_HOME/simscope/config.toml`. */
export function userConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIMSCOPE_CONFIG) return resolve(env.SIMSCOPE_CONFIG);
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'simscope', 'config.toml');
}

/** The nearest `simscope.toml` from `cwd` upwards. */
export function findProjectFile(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const file = join(dir, 'simscope.toml');
    if (existsSync(file)) return file;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Resolves URL, token and workspace. Each comes from the first of: the environment (`SIMSCOPE_URL`,
 * `SIMSCOPE_TOKEN`, `SIMSCOPE_WORKSPACE`), the options given in code, the project `simscope.toml` (top-level
 * `url`, `token`, `workspace`, `profile`), then the user config's profile (`SIMSCOPE_PROFILE`, else the option,
 * else the project's `profile`, else `default_profile`), then the default URL `http://127.0.0.1:5280`.
 */
export function resolveConfig(
  options: ConnectionOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): ResolvedConnection {
  const project = readToml(findProjectFile(cwd));
  const user = readToml(userConfigFile(env));
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const profileName =
    text(env.SIMSCOPE_PROFILE) ?? options.profile ?? text(project.profile) ?? text(user.default_profile);
  const profile = profileName ? user.profiles?.[profileName] : undefined;
  if (profileName && !profile && (text(env.SIMSCOPE_PROFILE) || options.profile)) {
    throw new SimscopeError('not_found', `profile '${profileName}' not found in ${userConfigFile(env)}`);
  }
  const url =
    text(env.SIMSCOPE_URL) ??
    options.url ??
    text(project.url) ??
    text(profile?.url) ??
    `http://${DEFAULT_HOST}:${DEFAULT_PORT}`;
  return {
    url: url.replace(/\/+$/, ''),
    token: text(env.SIMSCOPE_TOKEN) ?? options.token ?? text(project.token) ?? text(profile?.token),
    workspace:
      text(env.SIMSCOPE_WORKSPACE) ??
      options.workspace ??
      text(project.workspace) ??
      text(profile?.workspace),
  };
}

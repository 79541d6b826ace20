import { existsSync, readFileSync } from 'node:fs';
import { findProjectFile, type ResolvedConnection, resolveConfig, userConfigFile } from '@simscope/client';
import { DEFAULT_HOST, DEFAULT_PORT, SimscopeError } from '@simscope/protocol';
import { parse as parseToml } from 'smol-toml';

/** Options every command takes to say which server, token, workspace and profile to use. */
export interface ConnectionFlags {
  url?: string;
  token?: string;
  workspace?: string;
  profile?: string;
}

const FLAG_ENV = {
  url: 'SIMSCOPE_URL',
  token: 'SIMSCOPE_TOKEN',
  workspace: 'SIMSCOPE_WORKSPACE',
  profile: 'SIMSCOPE_PROFILE',
} as const;

/** The environment with the variables that a given flag overrides taken out: a flag beats the environment. */
function envBelowFlags(flags: ConnectionFlags, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const key of Object.keys(FLAG_ENV) as (keyof ConnectionFlags)[]) {
    if (flags[key]) delete out[FLAG_ENV[key]];
  }
  return out;
}

/** URL, token and workspace: flag > environment > project `simscope.toml` > user config profile > default. */
export function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): ResolvedConnection {
  return resolveConfig(
    { url: flags.url, token: flags.token, workspace: flags.workspace, profile: flags.profile },
    envBelowFlags(flags, env),
    cwd,
  );
}

type ProfileEntry = { url?: string; token?: string; workspace?: string };
export type ConfigDoc = Record<string, unknown> & {
  default_profile?: string;
  profiles?: Record<string, ProfileEntry>;
};

/** A TOML config file as an object; `{}` when it does not exist. */
export function readConfigFile(file: string | undefined): ConfigDoc {
  if (!file || !existsSync(file)) return {};
  try {
    return parseToml(readFileSync(file, 'utf8')) as ConfigDoc;
  } catch (error) {
    throw new SimscopeError('invalid_field', `${file}: not valid TOML: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** One resolved setting and where it came from. */
export interface Setting {
  value: string | null;
  source: string;
}

export interface ConnectionReport {
  configFile: string;
  projectFile: string | null;
  profile: Setting;
  url: Setting;
  token: Setting;
  workspace: Setting;
  profiles: { name: string; url: string | null; default: boolean }[];
}

/** The same resolution as `resolveConnection`, saying where each value comes from (for `config show`). */
export function describeConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): ConnectionReport {
  const configFile = userConfigFile(env);
  const projectFile = findProjectFile(cwd) ?? null;
  const user = readConfigFile(configFile);
  const project = readConfigFile(projectFile ?? undefined);
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const first = (candidates: [unknown, string][], fallback: Setting): Setting => {
    for (const [value, source] of candidates) {
      const t = text(value);
      if (t !== undefined) return { value: t, source };
    }
    return fallback;
  };
  const profile = first(
    [
      [flags.profile, 'flag --profile'],
      [env.SIMSCOPE_PROFILE, 'env SIMSCOPE_PROFILE'],
      [project.profile, `profile in ${projectFile}`],
      [user.default_profile, `default_profile in ${configFile}`],
    ],
    { value: null, source: 'none' },
  );
  const entry = profile.value ? user.profiles?.[profile.value] : undefined;
  const fromProfile = `profile '${profile.value}' in ${configFile}`;
  const pick = (key: keyof ConnectionFlags & keyof ProfileEntry, fallback: Setting): Setting =>
    first(
      [
        [flags[key], `flag --${key}`],
        [env[FLAG_ENV[key]], `env ${FLAG_ENV[key]}`],
        [project[key], `${projectFile}`],
        [entry?.[key], fromProfile],
      ],
      fallback,
    );
  return {
    configFile,
    projectFile,
    profile,
    url: pick('url', { value: `http://${DEFAULT_HOST}:${DEFAULT_PORT}`, source: 'default' }),
    token: pick('token', { value: null, source: 'none' }),
    workspace: pick('workspace', { value: null, source: "none (the user's first workspace)" }),
    profiles: Object.entries(user.profiles ?? {}).map(([name, p]) => ({
      name,
      url: text(p?.url) ?? null,
      default: name === user.default_profile,
    })),
  };
}

/** A token shortened for display: its prefix and last four characters. */
export function maskToken(token: string): string {
  return token.length <= 12 ? '…' : `${token.slice(0, 4)}…${token.slice(-4)}`;
}

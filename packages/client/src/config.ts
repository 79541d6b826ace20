import { type ResolvedConnection, resolveConnection } from '@simscope/config';

export { findProjectFile, type ResolvedConnection, userConfigFile } from '@simscope/config';

/** Where to find the server: every field optional; see `resolveConfig` for where missing ones come from. */
export interface ConnectionOptions {
  url?: string;
  token?: string;
  /** A profile of the user config file (`[profiles.NAME]`). */
  profile?: string;
  /** Workspace name or id, sent as the `Simscope-Workspace` header. */
  workspace?: string;
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
  return resolveConnection({ options, env, cwd });
}

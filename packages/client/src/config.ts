import { type ResolvedConnection, resolveConnection } from '@simscope/config';
import { ClientError } from './errors.js';

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

/**
 * When no token was found and a person is at the terminal (stdin is a TTY), says how to sign in; it never signs in
 * by itself. Returns whether it said so.
 */
export function suggestLogin(
  connection: ResolvedConnection,
  out: { write(text: string): unknown } = process.stderr,
  interactive: boolean = process.stdin.isTTY === true,
): boolean {
  if (connection.token || !interactive) return false;
  out.write(
    `simscope: no saved credentials for ${connection.url}; sign in with: simscope login --url ${connection.url}\n`,
  );
  return true;
}

/** The error of a run started with no token (after suggesting `simscope login` at a terminal). */
export function noTokenError(connection: ResolvedConnection): ClientError {
  suggestLogin(connection);
  return new ClientError(
    'unauthorized',
    "no token: run 'simscope login --url URL', set SIMSCOPE_TOKEN, pass { token }, or start the server once so it writes ~/.config/simscope/config.toml",
    0,
  );
}

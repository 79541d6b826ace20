import {
  type ConnectionSettings,
  type ConnectionValues,
  describeConnection as describeSettings,
  type ResolvedConnection,
  resolveConnection as resolveSettings,
} from '@simscope/config';

/** Options every command takes to say which server, token, workspace and profile to use. */
export type ConnectionFlags = ConnectionValues;

/** URL, token and workspace: flag > environment > project `simscope.toml` > user config profile > default. */
export function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): ResolvedConnection {
  return resolveSettings({ flags, env, cwd });
}

/** One resolved setting and where it came from, in words. */
interface Setting {
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
  profiles: ConnectionSettings['profiles'];
}

/** The same resolution as `resolveConnection`, saying where each value comes from (for `config show`). */
export function describeConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): ConnectionReport {
  const settings = describeSettings({ flags, env, cwd });
  const inWords = (s: ConnectionSettings['url']): Setting => ({ value: s.value, source: s.where });
  return {
    configFile: settings.configFile,
    projectFile: settings.projectFile,
    profile: inWords(settings.profile),
    url: inWords(settings.url),
    token: inWords(settings.token),
    workspace: inWords(settings.workspace),
    profiles: settings.profiles,
  };
}

/** A token shortened for display: its prefix and last four characters. */
export function maskToken(token: string): string {
  return token.length <= 12 ? '…' : `${token.slice(0, 4)}…${token.slice(-4)}`;
}

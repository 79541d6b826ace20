import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The name of the project file, looked for from the working directory upwards. */
export const PROJECT_FILE = 'simscope.toml';

/** The user config file: `SIMSCOPE_CONFIG`, else `$XDG_CONFIG_HOME/simscope/config.toml` (`~/.config` when unset). */
export function userConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIMSCOPE_CONFIG) return resolve(env.SIMSCOPE_CONFIG);
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'simscope', 'config.toml');
}

/** The nearest `simscope.toml` from `cwd` upwards, if any. */
export function findProjectFile(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const file = join(dir, PROJECT_FILE);
    if (existsSync(file)) return file;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SimscopeError } from '@simscope/protocol';

/** Sections of an INI file, each a map of its keys (lower-cased, as Python's `configparser`) to their values. */
export type IniDoc = Record<string, Record<string, string>>;

/** Parses INI text as `configparser` reads `simvue.ini`: `[section]`, `key = value` or `key: value`, `#`/`;` comments. */
export function parseIni(text: string, file = 'INI text'): IniDoc {
  const doc: IniDoc = {};
  let section: Record<string, string> | undefined;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = doc[(header[1] ?? '').trim()] ??= {};
      continue;
    }
    const pair = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (!pair || section === undefined) {
      throw new SimscopeError(
        'invalid_field',
        `${file}:${i + 1}: expected [section] or key = value, got '${line}'`,
      );
    }
    section[(pair[1] ?? '').toLowerCase()] = pair[2] ?? '';
  }
  return doc;
}

/** Where one Simvue setting was found. */
export interface SimvueSetting {
  value: string | null;
  /** `SIMVUE_URL`/`SIMVUE_TOKEN`, the file it came from, or `unset`. */
  source: string;
}

export interface SimvueSettings {
  url: SimvueSetting;
  token: SimvueSetting;
  /** The `simvue.ini` files read, lowest precedence first. */
  files: string[];
}

/**
 * Simvue's server URL and token, found as its Python client finds them: `~/.simvue.ini`, then `simvue.ini` in
 * the working directory, then the `SIMVUE_URL` and `SIMVUE_TOKEN` environment variables, each later one winning.
 * With `file`, that file is read instead of the two.
 */
export function readSimvueSettings(options: {
  env: NodeJS.ProcessEnv;
  cwd: string;
  home: string;
  file?: string;
}): SimvueSettings {
  const { env, cwd, home, file } = options;
  if (file !== undefined && !existsSync(resolve(cwd, file))) {
    throw new SimscopeError('not_found', `${resolve(cwd, file)}: no such file`);
  }
  const candidates =
    file === undefined ? [join(home, '.simvue.ini'), join(cwd, 'simvue.ini')] : [resolve(cwd, file)];
  const settings: SimvueSettings = {
    url: { value: null, source: 'unset' },
    token: { value: null, source: 'unset' },
    files: [],
  };
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    settings.files.push(path);
    const server = parseIni(readFileSync(path, 'utf8'), path).server ?? {};
    if (server.url) settings.url = { value: server.url, source: path };
    if (server.token) settings.token = { value: server.token, source: path };
  }
  if (env.SIMVUE_URL) settings.url = { value: env.SIMVUE_URL, source: 'SIMVUE_URL' };
  if (env.SIMVUE_TOKEN) settings.token = { value: env.SIMVUE_TOKEN, source: 'SIMVUE_TOKEN' };
  return settings;
}

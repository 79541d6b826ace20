import { existsSync, readFileSync } from 'node:fs';
import {
  findProjectFile,
  parseToml,
  readTomlFile,
  stringifyToml,
  userConfigFile,
  writeFileAtomic,
} from '@simscope/config';
import { TelemetryError } from './errors.js';

/** Where the telemetry choice in force comes from, first match wins in this order. */
export const CONSENT_SOURCES = ['DO_NOT_TRACK', 'SIMSCOPE_TELEMETRY', 'project', 'user', 'default'] as const;
export type ConsentSource = (typeof CONSENT_SOURCES)[number];

/** Telemetry is on unless someone said otherwise, as with access-py-telemetry; every opt-out wins. */
export const DEFAULT_ENABLED = true;

export interface ConsentOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the search for a project `simscope.toml` starts. */
  cwd?: string;
  /** The user config file; default `SIMSCOPE_CONFIG`, else `$XDG_CONFIG_HOME/simscope/config.toml`. */
  file?: string;
}

/** Whether telemetry is on, why, and what each place says. */
export interface ConsentStatus {
  enabled: boolean;
  source: ConsentSource;
  /** One sentence for people: what decided, and where. */
  reason: string;
  userConfigFile: string;
  /** `[telemetry] enabled` of the user config: undefined when unset. */
  userSetting: boolean | undefined;
  /** The project `simscope.toml` that was read, if any. */
  projectFile: string | undefined;
}

const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);
const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);

export { userConfigFile };

type Setting = { value: boolean | undefined; problem?: string };

/** `[telemetry] enabled` of a TOML file; a file that cannot be read or a non-boolean value is a problem. */
function readSetting(file: string | undefined): Setting {
  let doc: Record<string, unknown>;
  try {
    doc = readTomlFile(file);
  } catch (error) {
    const parseError = ((error as Error).cause ?? error) as Error;
    return { value: undefined, problem: `${file} cannot be read: ${parseError.message.split('\n')[0]}` };
  }
  const table = doc.telemetry;
  if (table === undefined) return { value: undefined };
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    return { value: undefined, problem: `${file}: 'telemetry' must be a table` };
  }
  const enabled = (table as Record<string, unknown>).enabled;
  if (enabled === undefined || typeof enabled === 'boolean') return { value: enabled };
  return { value: undefined, problem: `${file}: [telemetry] enabled must be true or false` };
}

/**
 * Whether telemetry may send, from the first of: `DO_NOT_TRACK` (any value but empty, 0, false, no, off turns it
 * off), `SIMSCOPE_TELEMETRY` (0/false/no/off or 1/true/yes/on), the project `simscope.toml`, the user config
 * (`[telemetry] enabled`), then the default (on). A file or value that cannot be understood turns it off.
 */
export function telemetryStatus(options: ConsentOptions = {}): ConsentStatus {
  const env = options.env ?? process.env;
  const file = options.file ?? userConfigFile(env);
  const projectFile = findProjectFile(options.cwd ?? process.cwd());
  const user = readSetting(file);
  const base = { userConfigFile: file, userSetting: user.value, projectFile };
  const word = (v: string | undefined) => (v ?? '').trim().toLowerCase();

  const dnt = word(env.DO_NOT_TRACK);
  if (dnt !== '' && !FALSE_WORDS.has(dnt)) {
    return {
      ...base,
      enabled: false,
      source: 'DO_NOT_TRACK',
      reason: `DO_NOT_TRACK=${env.DO_NOT_TRACK} is set`,
    };
  }
  const own = word(env.SIMSCOPE_TELEMETRY);
  if (own !== '') {
    const enabled = TRUE_WORDS.has(own);
    const reason = FALSE_WORDS.has(own)
      ? `SIMSCOPE_TELEMETRY=${env.SIMSCOPE_TELEMETRY} is set`
      : enabled
        ? `SIMSCOPE_TELEMETRY=${env.SIMSCOPE_TELEMETRY} is set`
        : `SIMSCOPE_TELEMETRY=${env.SIMSCOPE_TELEMETRY} is not one of 0, 1, true, false, yes, no, on, off`;
    return { ...base, enabled, source: 'SIMSCOPE_TELEMETRY', reason };
  }
  const project = readSetting(projectFile);
  if (project.problem) return { ...base, enabled: false, source: 'project', reason: project.problem };
  if (project.value !== undefined) {
    return {
      ...base,
      enabled: project.value,
      source: 'project',
      reason: `[telemetry] enabled = ${project.value} in ${projectFile}`,
    };
  }
  if (user.problem) return { ...base, enabled: false, source: 'user', reason: user.problem };
  if (user.value !== undefined) {
    return {
      ...base,
      enabled: user.value,
      source: 'user',
      reason: `[telemetry] enabled = ${user.value} in ${file}`,
    };
  }
  return {
    ...base,
    enabled: DEFAULT_ENABLED,
    source: 'default',
    reason: 'nothing turns it off (the default)',
  };
}

/** The lines `simscope telemetry --status` prints. */
export function describeConsent(status: ConsentStatus): string {
  const lines = [`Telemetry is ${status.enabled ? 'enabled' : 'disabled'}: ${status.reason}.`];
  if (status.source !== 'user') {
    lines.push(
      status.userSetting === undefined
        ? `The user config (${status.userConfigFile}) does not set it.`
        : `The user config (${status.userConfigFile}) says enabled = ${status.userSetting}, which this overrides.`,
    );
  }
  return lines.join('\n');
}

const TABLE_HEADER = /^\s*\[\s*telemetry\s*\]\s*(#.*)?$/;
const ANY_HEADER = /^\s*\[/;
const ENABLED_LINE = /^(\s*enabled\s*=\s*)(true|false)(\s*(#.*)?)$/;
const ENABLED_KEY = /^\s*enabled\s*=/;

/** JSON with object keys sorted, so two parsed documents compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The TOML text with `[telemetry] enabled = value`, every other byte as it was when the layout allows. */
export function withTelemetrySetting(text: string, enabled: boolean, source = 'config'): string {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    throw new TelemetryError(
      'invalid_field',
      `${source} is not valid TOML, so it was left as it is: ${(error as Error).message.split('\n')[0]}`,
      { cause: error },
    );
  }
  const table = doc.telemetry;
  if (table !== undefined && (typeof table !== 'object' || table === null || Array.isArray(table))) {
    throw new TelemetryError(
      'invalid_field',
      `${source}: 'telemetry' is not a table, so it was left as it is`,
    );
  }
  const expected = { ...doc, telemetry: { ...(table as Record<string, unknown> | undefined), enabled } };
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const header = lines.findIndex((l) => TABLE_HEADER.test(l));
  let edited: string | undefined;
  if (header >= 0) {
    let end = lines.findIndex((l, i) => i > header && ANY_HEADER.test(l));
    if (end < 0) end = lines.length;
    const at = lines.findIndex((l, i) => i > header && i < end && ENABLED_KEY.test(l));
    if (at >= 0) {
      const line = lines[at] ?? '';
      lines[at] = ENABLED_LINE.test(line)
        ? line.replace(ENABLED_LINE, `$1${enabled}$3`)
        : `${/^\s*/.exec(line)?.[0] ?? ''}enabled = ${enabled}`;
    } else {
      lines.splice(header + 1, 0, `enabled = ${enabled}`);
    }
    edited = lines.join(eol);
  } else if (table === undefined) {
    const body = text.replace(/(\r?\n)*$/, '');
    edited = `${body}${body ? `${eol}${eol}` : ''}[telemetry]${eol}enabled = ${enabled}${eol}`;
  }
  if (edited !== undefined) {
    try {
      if (canonical(parseToml(edited)) === canonical(expected)) return edited;
    } catch {
      // the layout defeated the line edit (a multi-line string, say): write the document anew below
    }
  }
  return stringifyToml(expected);
}

/**
 * Keeps the choice in the user config as `[telemetry] enabled = …` (mode 0600), leaving the rest of the file as
 * it was, and returns the status in force afterwards (an environment variable may still override the file).
 */
export function setTelemetryConsent(enabled: boolean, options: ConsentOptions = {}): ConsentStatus {
  const file = options.file ?? userConfigFile(options.env ?? process.env);
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const next = withTelemetrySetting(text, enabled, file);
  try {
    writeFileAtomic(file, next);
  } catch (error) {
    throw new TelemetryError('internal', `cannot write ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return telemetryStatus({ ...options, file });
}

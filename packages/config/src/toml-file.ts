import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SimscopeError } from '@simscope/protocol';
import { parse, stringify } from 'smol-toml';

/** A parsed TOML document. */
export type TomlDoc = Record<string, unknown>;

/** Parses TOML text; throws smol-toml's error (with line and column) when it is not valid. */
export function parseToml(text: string): TomlDoc {
  return parse(text) as TomlDoc;
}

/** TOML text of a document. */
export function stringifyToml(doc: TomlDoc): string {
  return stringify(doc);
}

/**
 * A TOML file as an object, `{}` when `file` is undefined or does not exist.
 * @throws SimscopeError `invalid_field` naming the file when it is not valid TOML (the parse error is the cause).
 */
export function readTomlFile(file: string | undefined): TomlDoc {
  if (!file || !existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  try {
    return parseToml(text);
  } catch (error) {
    throw new SimscopeError('invalid_field', `${file}: not valid TOML: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Replaces `file` with `text` in one step, mode 0600 (its folder made with mode 0700): written to a temporary
 * file beside it, then renamed, so a reader never sees half a file and a crash leaves the old one.
 */
export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, text, { mode: 0o600 });
    // The mode given to writeFileSync is masked by the umask, and ignored when the file already exists.
    chmodSync(temp, 0o600);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Reads a TOML file, lets `edit` change the document, and writes it back atomically with mode 0600. */
export function updateTomlFile(file: string, edit: (doc: TomlDoc) => void): void {
  const doc = readTomlFile(file);
  edit(doc);
  writeFileAtomic(file, stringifyToml(doc));
}

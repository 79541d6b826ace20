import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { microsToIso } from '@simscope/protocol';
import type { Column } from './columns.js';

/** Where a writer writes: a file path (created or replaced) or an open stream (left open). */
export type WriteTarget = string | Writable;

function csvCell(text: string): string {
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

function floatText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return String(value);
}

/** A cell as CSV text: times in ISO 8601 (UTC, microseconds), lists as JSON, nothing for null. */
function cellText(kind: Column['kind'], value: unknown): string {
  if (value === null || value === undefined) return '';
  switch (kind) {
    case 'time':
      return microsToIso(Number(value));
    case 'float':
    case 'int':
      return typeof value === 'number' ? floatText(value) : String(value);
    case 'strings':
      return csvCell(JSON.stringify(value));
    case 'bool':
      return value ? 'true' : 'false';
    default:
      return csvCell(String(value));
  }
}

/** CSV lines (RFC 4180, `\n` line ends) of columns that hold `rows` values each, header first. */
export function* csvLines(columns: readonly Column[], rows: number): Generator<string> {
  yield `${columns.map((c) => csvCell(c.name)).join(',')}\n`;
  for (let i = 0; i < rows; i++) {
    let line = '';
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c];
      if (!column) continue;
      if (c > 0) line += ',';
      line += cellText(column.kind, column.values[i]);
    }
    yield `${line}\n`;
  }
}

/** JSON lines: one JSON object per line. */
export function* jsonLines(rows: Iterable<unknown>): Generator<string> {
  for (const row of rows) yield `${JSON.stringify(row)}\n`;
}

/** Writes lines to a file or stream, waiting whenever the stream asks to (memory stays flat). */
export async function writeLines(target: WriteTarget, lines: Iterable<string>): Promise<void> {
  const stream = typeof target === 'string' ? createWriteStream(target) : target;
  let onError: (error: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    onError = reject;
    stream.once('error', onError);
  });
  failed.catch(() => undefined);
  try {
    let chunk = '';
    for (const line of lines) {
      chunk += line;
      if (chunk.length < 64 * 1024) continue;
      if (!stream.write(chunk))
        await Promise.race([new Promise<void>((r) => stream.once('drain', () => r())), failed]);
      chunk = '';
    }
    if (chunk) stream.write(chunk);
    if (typeof target === 'string') {
      const finished = new Promise<void>((resolve) => stream.once('finish', () => resolve()));
      stream.end();
      await Promise.race([finished, failed]);
    }
  } finally {
    stream.off('error', onError);
  }
}

/** Joins lines into one string. */
export function joinLines(lines: Iterable<string>): string {
  let out = '';
  for (const line of lines) out += line;
  return out;
}

import { StringDecoder } from 'node:string_decoder';
import { LIMITS } from '@simscope/protocol';

// CSI sequences (colours, cursor moves), OSC sequences (titles, links) and two-byte escapes.
// biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are made of control characters
const ANSI = /\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/**
 * The text a terminal would leave on screen for one line: escape sequences removed, a trailing `\r` (CRLF)
 * dropped, and of a line redrawn with `\r` (a progress bar) only its last state.
 */
export function cleanLine(raw: string): string {
  let line = raw.includes('\x1b') ? raw.replace(ANSI, '') : raw;
  if (line.endsWith('\r')) line = line.replace(/\r+$/, '');
  const cr = line.lastIndexOf('\r');
  return cr === -1 ? line : line.slice(cr + 1);
}

/** Receives the lines of one chunk, and how many more lines it held that were only counted. */
type OnLines = (lines: string[], skipped: number) => void;

/**
 * Cuts a byte stream into lines (UTF-8, split characters kept whole) and hands those of each chunk, cleaned,
 * to `onLines` at once. A line longer than the largest event message is handed on in pieces of that size.
 * With `needle`, a chunk whose text does not contain it is only counted: its lines are not cut out.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #onLines: OnLines;
  readonly #maxLength: number;
  readonly #needle: string | undefined;
  #pending = '';

  constructor(onLines: OnLines, maxLength: number = LIMITS.eventMessageLength, needle?: string) {
    this.#onLines = onLines;
    this.#maxLength = maxLength;
    this.#needle = needle;
  }

  push(chunk: Buffer): void {
    const text = this.#pending + this.#decoder.write(chunk);
    if (this.#needle !== undefined && !text.includes(this.#needle)) {
      this.#count(text);
      return;
    }
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end === -1) break;
      this.#cut(text.slice(start, end), lines);
      start = end + 1;
    }
    let rest = text.slice(start);
    while (rest.length >= this.#maxLength) {
      lines.push(cleanLine(rest.slice(0, this.#maxLength)));
      rest = rest.slice(this.#maxLength);
    }
    this.#pending = rest;
    if (lines.length > 0) this.#onLines(lines, 0);
  }

  #count(text: string): void {
    let skipped = 0;
    let last = -1;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
      skipped++;
      last = i;
    }
    let rest = text.slice(last + 1);
    if (rest.length >= this.#maxLength) {
      skipped += Math.floor(rest.length / this.#maxLength);
      rest = rest.slice(rest.length - (rest.length % this.#maxLength));
    }
    this.#pending = rest;
    if (skipped > 0) this.#onLines([], skipped);
  }

  /** Hands on what is left after the last newline, if anything. */
  end(): void {
    const rest = this.#pending + this.#decoder.end();
    this.#pending = '';
    if (rest === '') return;
    const lines: string[] = [];
    this.#cut(rest, lines);
    this.#onLines(lines, 0);
  }

  #cut(raw: string, into: string[]): void {
    const max = this.#maxLength;
    if (raw.length <= max) into.push(cleanLine(raw));
    else for (let at = 0; at < raw.length; at += max) into.push(cleanLine(raw.slice(at, at + max)));
  }
}

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

/**
 * Cuts a byte stream into lines (UTF-8, split characters kept whole) and hands those of each chunk, cleaned,
 * to `onLines` at once. A line longer than the largest event message is handed on in pieces of that size.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #onLines: (lines: string[]) => void;
  readonly #maxLength: number;
  #pending = '';

  constructor(onLines: (lines: string[]) => void, maxLength: number = LIMITS.eventMessageLength) {
    this.#onLines = onLines;
    this.#maxLength = maxLength;
  }

  push(chunk: Buffer): void {
    const text = this.#pending + this.#decoder.write(chunk);
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
    if (lines.length > 0) this.#onLines(lines);
  }

  /** Hands on what is left after the last newline, if anything. */
  end(): void {
    const rest = this.#pending + this.#decoder.end();
    this.#pending = '';
    if (rest === '') return;
    const lines: string[] = [];
    this.#cut(rest, lines);
    this.#onLines(lines);
  }

  #cut(raw: string, into: string[]): void {
    const max = this.#maxLength;
    if (raw.length <= max) into.push(cleanLine(raw));
    else for (let at = 0; at < raw.length; at += max) into.push(cleanLine(raw.slice(at, at + max)));
  }
}

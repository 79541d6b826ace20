import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { type MetricSample, parseNumber, parseStep } from './metric-parser.js';

type FileFormat = 'csv' | 'jsonl';

const READ_BYTES = 1 << 20;
const HEAD_BYTES = 256;

function formatOf(path: string): FileFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt' || ext === '.dat') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  return undefined;
}

function splitDelimiter(header: string): string | RegExp {
  if (header.includes(',')) return ',';
  if (header.includes('\t')) return '\t';
  if (header.includes(';')) return ';';
  return /\s+/;
}

function unquote(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replaceAll('""', '"') : t;
}

/** Numbers of a JSON object, nested objects flattened with `/`: `{"loss": {"train": 1}}` → `loss/train`. */
function flatten(obj: Record<string, unknown>, prefix: string, out: Record<string, number>): void {
  for (const [key, value] of Object.entries(obj)) {
    const name = prefix + key;
    if (typeof value === 'number') out[name] = value;
    else if (typeof value === 'string') {
      const n = parseNumber(value);
      if (n !== undefined) out[name] = n;
    } else if (value && typeof value === 'object' && !Array.isArray(value)) {
      flatten(value as Record<string, unknown>, `${name}/`, out);
    }
  }
}

/**
 * Follows a metrics file that a program appends to: CSV (a header row of metric names, then rows;
 * comma, tab, semicolon or blank separated; a leading `#` on the header is ignored) or JSON lines (one
 * object per line). The column or key `step` is the step. The file may appear late; a file that shrinks
 * or is replaced is read again from its start.
 */
export class MetricsFileTail {
  readonly path: string;
  readonly #onSample: (sample: MetricSample) => void;
  #format: FileFormat | undefined;
  #offset = 0;
  #inode = -1;
  /** The file's first bytes as read, to notice a replacement. */
  #head = Buffer.alloc(0);
  #decoder = new StringDecoder('utf8');
  #pending = '';
  #columns: string[] | null = null;
  #delimiter: string | RegExp = ',';
  #rows = 0;

  constructor(path: string, onSample: (sample: MetricSample) => void) {
    this.path = path;
    this.#onSample = onSample;
    this.#format = formatOf(path);
  }

  /** Rows read so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Reads what was appended since the last call; with `final`, also a last line without a newline. */
  async poll(final = false): Promise<void> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(this.path);
    } catch {
      return;
    }
    if (info.ino !== this.#inode || info.size < this.#offset) this.#restart(info.ino);
    if (info.size > this.#offset || this.#head.length > 0) {
      const handle = await open(this.path, 'r');
      try {
        // A file replaced by one with the same inode (freed and reused) shows by its first bytes.
        if (this.#head.length > 0) {
          const now = Buffer.alloc(this.#head.length);
          await handle.read(now, 0, now.length, 0);
          if (!now.equals(this.#head)) this.#restart(info.ino);
        }
        const buffer = Buffer.allocUnsafe(READ_BYTES);
        for (;;) {
          const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, this.#offset);
          if (bytesRead === 0) break;
          if (this.#head.length < HEAD_BYTES) {
            const take = buffer.subarray(0, Math.min(bytesRead, HEAD_BYTES - this.#head.length));
            this.#head = Buffer.concat([this.#head, take]);
          }
          this.#offset += bytesRead;
          this.#consume(this.#decoder.write(buffer.subarray(0, bytesRead)));
        }
      } finally {
        await handle.close();
      }
    }
    if (final && this.#pending !== '') {
      const last = this.#pending;
      this.#pending = '';
      this.#line(last);
    }
  }

  #restart(inode: number): void {
    this.#inode = inode;
    this.#offset = 0;
    this.#head = Buffer.alloc(0);
    this.#decoder = new StringDecoder('utf8');
    this.#pending = '';
    this.#columns = null;
  }

  #consume(text: string): void {
    const all = this.#pending + text;
    let start = 0;
    for (;;) {
      const end = all.indexOf('\n', start);
      if (end === -1) break;
      this.#line(all.slice(start, end));
      start = end + 1;
    }
    this.#pending = all.slice(start);
  }

  #line(raw: string): void {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    this.#format ??= line.trimStart().startsWith('{') ? 'jsonl' : 'csv';
    const sample = this.#format === 'jsonl' ? this.#jsonLine(line) : this.#csvLine(line);
    if (sample && (Object.keys(sample.values).length > 0 || sample.invalid)) {
      this.#rows++;
      this.#onSample(sample);
    }
  }

  #jsonLine(line: string): MetricSample | null {
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      return { values: {}, invalid: [line.slice(0, 80)] };
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj))
      return { values: {}, invalid: [line.slice(0, 80)] };
    const { step, ...rest } = obj as Record<string, unknown>;
    const sample: MetricSample = { values: {} };
    flatten(rest, '', sample.values);
    if (step !== undefined) {
      const s = parseStep(String(step));
      if (s === undefined) sample.invalid = [`step=${String(step)}`];
      else sample.step = s;
    }
    return sample;
  }

  #csvLine(line: string): MetricSample | null {
    if (this.#columns === null) {
      const header = line.replace(/^\s*#\s*/, '');
      this.#delimiter = splitDelimiter(header);
      this.#columns = header.trim().split(this.#delimiter).map(unquote);
      return null;
    }
    if (line.trimStart().startsWith('#')) return null;
    const cells = line.trim().split(this.#delimiter).map(unquote);
    const sample: MetricSample = { values: {} };
    const invalid: string[] = [];
    this.#columns.forEach((name, i) => {
      const cell = cells[i];
      if (cell === undefined || cell === '' || name === '') return;
      if (name === 'step') {
        const step = parseStep(cell);
        if (step === undefined) invalid.push(`step=${cell}`);
        else sample.step = step;
        return;
      }
      const value = parseNumber(cell);
      if (value === undefined) invalid.push(`${name}=${cell}`);
      else sample.values[name] = value;
    });
    if (invalid.length > 0) sample.invalid = invalid;
    return sample;
  }
}

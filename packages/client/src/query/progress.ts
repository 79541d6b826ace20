/** Where a listing stands, after each page. */
export interface ListProgress {
  /** The list: `runs`, `events`, `metricValues`… */
  list: string;
  /** Pages fetched so far, those of a resumed listing included. */
  pages: number;
  /** Pages expected: grows by one while the server says there are more. */
  totalPages: number;
  /** Rows (or points) so far. */
  items: number;
  done: boolean;
  elapsedMs: number;
}

export type ProgressCallback = (progress: ListProgress) => void;

/** What the progress bar writes to; `process.stderr` by default. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BLOCKS = ' ▏▎▍▌▋▊▉█';
const WIDTH = 24;

function bar(fraction: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, fraction)) * WIDTH * 8);
  const full = Math.floor(eighths / 8);
  const rest = eighths % 8;
  return `${'█'.repeat(full)}${rest ? BLOCKS[rest] : ''}`.padEnd(WIDTH, ' ');
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The bar's line for a progress report, without the carriage return. */
export function formatProgress(p: ListProgress): string {
  const rate = p.elapsedMs > 0 ? (p.pages * 1000) / p.elapsedMs : 0;
  return (
    `${p.list} |${bar(p.totalPages ? p.pages / p.totalPages : 0)}| ${p.pages}/${p.totalPages} pages, ` +
    `${p.items.toLocaleString('en-US')} items [${clock(p.elapsedMs)}, ${rate.toFixed(1)} pages/s]`
  );
}

/**
 * A one-line progress bar, redrawn in place at most every `intervalMs`; it draws only on a terminal (a stream
 * whose `isTTY` is true), so logs and pipes stay clean.
 */
export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #intervalMs: number;
  #last = 0;
  #drawn = false;

  constructor(stream: ProgressStream = process.stderr, intervalMs = 100) {
    this.#stream = stream;
    this.#intervalMs = intervalMs;
  }

  update(progress: ListProgress): void {
    if (!this.#stream.isTTY) return;
    const now = Date.now();
    if (!progress.done && this.#drawn && now - this.#last < this.#intervalMs) return;
    this.#last = now;
    this.#drawn = true;
    let line = formatProgress(progress);
    const width = this.#stream.columns;
    if (width && line.length >= width) line = line.slice(0, width - 1);
    this.#stream.write(`\r${line}\x1b[K${progress.done ? '\n' : ''}`);
  }
}

export interface ProgressOptions {
  /**
   * The progress bar: on by default, drawn on stderr only when it is a terminal (as DIALS with tqdm installed);
   * `false` turns it off; a stream draws there instead, when its `isTTY` is true.
   */
  progress?: boolean | ProgressStream;
  onProgress?: ProgressCallback;
}

/** One function that feeds the callback and the bar (unless `progress: false`) with each report. */
export function progressReporter(options: ProgressOptions): ProgressCallback | undefined {
  const { progress } = options;
  const bar =
    progress === false
      ? undefined
      : new ProgressBar(progress === true || progress === undefined ? process.stderr : progress);
  const callback = options.onProgress;
  if (!bar && !callback) return undefined;
  return (p) => {
    bar?.update(p);
    callback?.(p);
  };
}

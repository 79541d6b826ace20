/** The terminal stream a progress line goes to; only a TTY gets one. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * A one-line progress report on stderr for listings that take several pages (and, later, downloads):
 * pages, items and time so far, redrawn at most ten times a second. Shows nothing unless the stream is a
 * terminal, and nothing for a listing that fits in one page.
 */
class PageProgress {
  readonly #label: string;
  readonly #stream: ProgressStream;
  readonly #started = performance.now();
  #pages = 0;
  #items = 0;
  #drawnAt = 0;
  #shown = false;

  constructor(label: string, stream: ProgressStream = process.stderr) {
    this.#label = label;
    this.#stream = stream;
  }

  /** Counts a page of `items`; `more` says whether another page follows. */
  page(items: number, more: boolean): void {
    this.#pages++;
    this.#items += items;
    if (!this.#stream.isTTY || (!more && !this.#shown)) return;
    const now = performance.now();
    if (this.#shown && more && now - this.#drawnAt < 100) return;
    this.#drawnAt = now;
    this.#shown = true;
    const seconds = ((now - this.#started) / 1000).toFixed(1);
    this.#stream.write(
      `\r\x1b[2K${this.#label}: ${this.#items.toLocaleString('en-US')} in ${this.#pages} pages, ${seconds} s`,
    );
  }

  /** Clears the line. */
  done(): void {
    if (this.#shown) this.#stream.write('\r\x1b[2K');
    this.#shown = false;
  }
}

/** A listing's pages as they come, counted on a progress line labelled `label` (see {@link PageProgress}). */
export async function* withProgress<T>(
  pages: AsyncIterable<{ items: T[]; more: boolean }>,
  label: string,
  stream: ProgressStream,
): AsyncGenerator<T[]> {
  const progress = new PageProgress(label, stream);
  try {
    for await (const { items, more } of pages) {
      progress.page(items.length, more);
      yield items;
    }
  } finally {
    progress.done();
  }
}

/** Every item of a listing's pages, counted on a progress line. */
export async function collectWithProgress<T>(
  pages: AsyncIterable<{ items: T[]; more: boolean }>,
  label: string,
  stream: ProgressStream,
): Promise<T[]> {
  const out: T[] = [];
  for await (const items of withProgress(pages, label, stream)) out.push(...items);
  return out;
}

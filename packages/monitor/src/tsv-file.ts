import { appendFile, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Appends rows to a tab-separated file, writing `columns` as a header first when the file is new or empty. */
export class TsvFile {
  readonly path: string;
  readonly columns: readonly string[];
  #ready: Promise<void> | undefined;

  constructor(path: string, columns: readonly string[]) {
    this.path = path;
    this.columns = columns;
  }

  async append(row: readonly (string | number | null)[]): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const size = await stat(this.path).then(
        (s) => s.size,
        () => 0,
      );
      if (size === 0) await appendFile(this.path, `${this.columns.join('\t')}\n`);
    })();
    try {
      await this.#ready;
    } catch (error) {
      this.#ready = undefined;
      throw error;
    }
    await appendFile(this.path, `${row.map((v) => (v === null ? '' : String(v))).join('\t')}\n`);
  }
}

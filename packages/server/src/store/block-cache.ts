/**
 * Decoded block columns, least recently used first out, bounded by bytes. Blocks never change once written and
 * their keys are never reused, so entries need no invalidation: deleted blocks simply age out.
 */
export class BlockCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Float64Array>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get(pk: number, column: string): Float64Array | undefined {
    const key = `${pk}:${column}`;
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
    }
    return hit;
  }

  set(pk: number, column: string, data: Float64Array): void {
    if (data.byteLength > this.#maxBytes / 4) return;
    const key = `${pk}:${column}`;
    const old = this.#entries.get(key);
    if (old) {
      this.#bytes -= old.byteLength;
      this.#entries.delete(key);
    }
    this.#entries.set(key, data);
    this.#bytes += data.byteLength;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= v.byteLength;
    }
  }

  get bytes(): number {
    return this.#bytes;
  }
}

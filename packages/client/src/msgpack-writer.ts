/**
 * Writes msgpack into one buffer of a size known up front, for the metric batches: a column goes in with one
 * copy, where a general encoder would grow its buffer (copying all of it) as the columns arrive.
 */
export class MsgpackWriter {
  readonly #buf: Buffer;
  #pos = 0;

  /** `capacity` must hold everything written: writes past it throw. */
  constructor(capacity: number) {
    this.#buf = Buffer.allocUnsafe(capacity);
  }

  #room(n: number): void {
    if (this.#pos + n > this.#buf.length) {
      throw new RangeError(`msgpack writer: ${n} more bytes do not fit in ${this.#buf.length}`);
    }
  }

  #header(n: number, fix: number, fixMax: number, c16: number, c32: number): void {
    this.#room(5);
    if (n <= fixMax) this.#buf[this.#pos++] = fix | n;
    else if (n < 0x10000) {
      this.#buf[this.#pos] = c16;
      this.#buf.writeUInt16BE(n, this.#pos + 1);
      this.#pos += 3;
    } else {
      this.#buf[this.#pos] = c32;
      this.#buf.writeUInt32BE(n, this.#pos + 1);
      this.#pos += 5;
    }
  }

  map(entries: number): void {
    this.#header(entries, 0x80, 15, 0xde, 0xdf);
  }

  array(length: number): void {
    this.#header(length, 0x90, 15, 0xdc, 0xdd);
  }

  str(text: string): void {
    const bytes = Buffer.byteLength(text);
    this.#room(5 + bytes);
    if (bytes < 32) this.#buf[this.#pos++] = 0xa0 | bytes;
    else if (bytes < 0x100) {
      this.#buf[this.#pos++] = 0xd9;
      this.#buf[this.#pos++] = bytes;
    } else this.#header(bytes, 0, -1, 0xda, 0xdb);
    this.#pos += this.#buf.write(text, this.#pos);
  }

  /** A whole number from 0 to 2^53 - 1. */
  uint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`msgpack writer: ${n} is not a uint`);
    this.#room(9);
    if (n < 0x80) this.#buf[this.#pos++] = n;
    else if (n < 0x100000000) {
      this.#buf[this.#pos] = 0xce;
      this.#buf.writeUInt32BE(n, this.#pos + 1);
      this.#pos += 5;
    } else {
      this.#buf[this.#pos] = 0xcf;
      this.#buf.writeUInt32BE(Math.floor(n / 0x100000000), this.#pos + 1);
      this.#buf.writeUInt32BE(n >>> 0, this.#pos + 5);
      this.#pos += 9;
    }
  }

  float64(x: number): void {
    this.#room(9);
    this.#buf[this.#pos] = 0xcb;
    this.#buf.writeDoubleBE(x, this.#pos + 1);
    this.#pos += 9;
  }

  bin(bytes: Uint8Array): void {
    this.#room(5 + bytes.byteLength);
    this.#header(bytes.byteLength, 0, -1, 0xc5, 0xc6);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.byteLength;
  }

  /** What was written (a view of the buffer). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }
}

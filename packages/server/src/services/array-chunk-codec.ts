import { promisify } from 'node:util';
import { deflate, deflateSync, inflate } from 'node:zlib';
import { ARRAY_LIMITS } from '@simscope/protocol';

// The async zlib API runs in libuv's thread pool, so a big field never stalls the event loop.
const deflateAsync = promisify(deflate);
const inflateAsync = promisify(inflate);

/** Deflate level: 1 compresses shuffled fields nearly as well as 6, several times faster. */
const DEFLATE = { level: 1, chunkSize: 64 * 1024 };
/** Samples deflate into a small output buffer: zlib allocates a whole `chunkSize` for each call. */
const SAMPLE_DEFLATE = { level: 1, chunkSize: 4 * 1024 };
/** Inflating into one buffer of the known size spares zlib joining pieces. */
const inflateInto = (bytes: number) => ({ chunkSize: Math.max(64, bytes) });

/**
 * Layout 2 of a stored chunk: `SP`, the version byte 2, the element size, then for each byte plane a flag (0 raw,
 * 1 deflated) and its stored length (uint32 LE), then the planes. Layout 1 (a zlib stream of the whole shuffled
 * chunk, starting 0x78) is still read.
 */
const MAGIC = [0x53, 0x50] as const;
const LAYOUT = 2;
/** The most raw bytes a chunk holds (`ARRAY_LIMITS.chunkBytes`). */
const MAX_CHUNK_BYTES = ARRAY_LIMITS.chunkBytes;
/** Chunk buffers kept for reuse: enough for the chunks several uploads have in flight. */
const KEPT_BUFFERS = 16;
/** A plane is deflated only when a sample of it shrinks below this fraction: noisy low mantissa bytes do not. */
const WORTH_DEFLATING = 0.5;
const SAMPLE_BYTES = 1024;

/**
 * Byte shuffle (as HDF5's filter): the first bytes of every element, then the second bytes … so that the slowly
 * varying high bytes of a smooth field sit together and deflate well.
 */
export function shuffle(raw: Buffer, size: number, into?: Buffer): Buffer {
  if (size === 1) return raw;
  const n = raw.length / size;
  const out = into ?? Buffer.allocUnsafe(raw.length);
  if (size % 4 === 0 && n % 4 === 0 && raw.byteOffset % 4 === 0 && out.byteOffset % 4 === 0) {
    shuffleWords(raw, out, size, n);
    return out;
  }
  if (size % 4 === 0 && raw.byteOffset % 4 === 0) {
    // A word at a time: one read per 4 bytes instead of four.
    const words = new Uint32Array(raw.buffer, raw.byteOffset, raw.length / 4);
    const perElement = size / 4;
    for (let w = 0; w < perElement; w++) {
      const base = 4 * w * n;
      const p1 = base + n;
      const p2 = p1 + n;
      const p3 = p2 + n;
      for (let i = 0, k = w; i < n; i++, k += perElement) {
        const v = words[k] as number;
        out[base + i] = v;
        out[p1 + i] = v >>> 8;
        out[p2 + i] = v >>> 16;
        out[p3 + i] = v >>> 24;
      }
    }
    return out;
  }
  for (let b = 0; b < size; b++) {
    const base = b * n;
    for (let i = 0; i < n; i++) out[base + i] = raw[i * size + b] as number;
  }
  return out;
}

/** The elements back in order from their byte planes (`planes[b]`: byte b of every element). */
/** `shuffle` four elements at a time: four words in, four words out, one per byte plane. */
function shuffleWords(raw: Buffer, out: Buffer, size: number, n: number): void {
  const words = new Uint32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  const planes = new Uint32Array(out.buffer, out.byteOffset, out.length / 4);
  const perElement = size / 4;
  const planeWords = n / 4;
  for (let w = 0; w < perElement; w++) {
    const p0 = 4 * w * planeWords;
    const p1 = p0 + planeWords;
    const p2 = p1 + planeWords;
    const p3 = p2 + planeWords;
    for (let q = 0, k = w; q < planeWords; q++, k += 4 * perElement) {
      const a = words[k] as number;
      const b = words[k + perElement] as number;
      const c = words[k + 2 * perElement] as number;
      const d = words[k + 3 * perElement] as number;
      planes[p0 + q] = (a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | (d << 24);
      planes[p1 + q] = ((a >>> 8) & 0xff) | (b & 0xff00) | ((c & 0xff00) << 8) | ((d >>> 8) << 24);
      planes[p2 + q] = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (c & 0xff0000) | ((d >>> 16) << 24);
      planes[p3 + q] = (a >>> 24) | ((b >>> 16) & 0xff00) | ((c >>> 8) & 0xff0000) | (d & 0xff000000);
    }
  }
}

export function unshuffle(planes: readonly Buffer[], size: number): Buffer {
  const first = planes[0] as Buffer;
  if (size === 1) return first;
  const n = first.length;
  const out = Buffer.allocUnsafe(n * size);
  if (size % 4 === 0 && out.byteOffset % 4 === 0) {
    const words = new Uint32Array(out.buffer, out.byteOffset, out.length / 4);
    const perElement = size / 4;
    for (let w = 0; w < perElement; w++) {
      const [b0, b1, b2, b3] = planes.slice(4 * w, 4 * w + 4) as [Buffer, Buffer, Buffer, Buffer];
      for (let i = 0, k = w; i < n; i++, k += perElement) {
        words[k] =
          ((b0[i] as number) |
            ((b1[i] as number) << 8) |
            ((b2[i] as number) << 16) |
            ((b3[i] as number) << 24)) >>>
          0;
      }
    }
    return out;
  }
  planes.forEach((plane, b) => {
    for (let i = 0; i < n; i++) out[i * size + b] = plane[i] as number;
  });
  return out;
}

/** Buffers of a whole chunk's size, reused from one chunk to the next so that steady uploads make no garbage. */
export class ChunkBuffers {
  readonly #free: Buffer[] = [];

  /** A buffer of `bytes`: a reused one when that is a whole chunk. */
  take(bytes: number): Buffer {
    return (bytes === MAX_CHUNK_BYTES ? this.#free.pop() : undefined) ?? Buffer.allocUnsafe(bytes);
  }

  give(buffer: Buffer): void {
    if (buffer.length === MAX_CHUNK_BYTES && this.#free.length < KEPT_BUFFERS) this.#free.push(buffer);
  }
}

/** Whether deflating `plane` looks worth it, judged on a few samples of it. */
function worthDeflating(plane: Buffer): boolean {
  if (plane.length <= 3 * SAMPLE_BYTES)
    return deflateSync(plane, SAMPLE_DEFLATE).length < plane.length * WORTH_DEFLATING;
  const mid = (plane.length >> 1) - (SAMPLE_BYTES >> 1);
  const sample = Buffer.concat([
    plane.subarray(0, SAMPLE_BYTES),
    plane.subarray(mid, mid + SAMPLE_BYTES),
    plane.subarray(plane.length - SAMPLE_BYTES),
  ]);
  return deflateSync(sample, SAMPLE_DEFLATE).length < sample.length * WORTH_DEFLATING;
}

/**
 * A chunk's raw little-endian bytes as stored (layout 2), in parts: shuffled, each byte plane deflated when that
 * pays. `raw` is copied before this returns, so the caller may reuse it at once.
 */
export async function encodeChunk(raw: Buffer, size: number, into?: Buffer): Promise<Buffer[]> {
  const out = into ?? Buffer.allocUnsafe(raw.length);
  if (size === 1) raw.copy(out);
  const shuffled = size === 1 ? out : shuffle(raw, size, out);
  const n = raw.length / size;
  const planes = await Promise.all(
    Array.from({ length: size }, async (_, b) => {
      const plane = shuffled.subarray(b * n, (b + 1) * n);
      if (!worthDeflating(plane)) return { deflated: false, bytes: plane };
      const packed = await deflateAsync(plane, DEFLATE);
      return packed.length < plane.length
        ? { deflated: true, bytes: packed }
        : { deflated: false, bytes: plane };
    }),
  );
  const header = Buffer.allocUnsafe(4 + 5 * size);
  header[0] = MAGIC[0];
  header[1] = MAGIC[1];
  header[2] = LAYOUT;
  header[3] = size;
  planes.forEach((p, b) => {
    header[4 + 5 * b] = p.deflated ? 1 : 0;
    header.writeUInt32LE(p.bytes.length, 5 + 5 * b);
  });
  return [header, ...planes.map((p) => p.bytes)];
}

/** A stored chunk (layout 1 or 2) as its byte planes; raw planes are views of `stored`, not copies. */
export async function decodePlanes(stored: Buffer, size: number): Promise<Buffer[]> {
  if (stored[0] !== MAGIC[0] || stored[1] !== MAGIC[1]) {
    const shuffled = await inflateAsync(stored, inflateInto(MAX_CHUNK_BYTES));
    const n = shuffled.length / size;
    return Array.from({ length: size }, (_, b) => shuffled.subarray(b * n, (b + 1) * n));
  }
  if (stored[2] !== LAYOUT || stored[3] !== size)
    throw new Error(`array chunk of unknown layout ${stored[2]}`);
  const lengths = Array.from({ length: size }, (_, b) => stored.readUInt32LE(5 + 5 * b));
  // A raw plane's length is every plane's; with none raw, the largest a chunk's plane can be.
  const raw = lengths.find((_, b) => stored[4 + 5 * b] === 0);
  const into = inflateInto(raw ?? MAX_CHUNK_BYTES / size);
  let at = 4 + 5 * size;
  const planes = lengths.map((length, b) => {
    const bytes = stored.subarray(at, at + length);
    at += length;
    return stored[4 + 5 * b] === 1 ? inflateAsync(bytes, into) : bytes;
  });
  return Promise.all(planes);
}

import type { MsgpackWriter } from './msgpack-writer.js';

/** This process's clock in µs since the epoch: the clock the queued timestamps come from. */
export function clockMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

// A metric body starts with its `clock` entry, so that it can be stamped in place at each try, or cut off: a
// fixmap header, the key (fixstr 'clock'), then a float64 (0xcb and 8 bytes, big-endian).
const CLOCK_KEY = [0xa5, 0x63, 0x6c, 0x6f, 0x63, 0x6b];
const CLOCK_VALUE = 1 + CLOCK_KEY.length + 1;
const CLOCK_END = CLOCK_VALUE + 8;

function startsWithClock(body: Uint8Array): boolean {
  if (body.byteLength < CLOCK_END || body[CLOCK_VALUE - 1] !== 0xcb) return false;
  return CLOCK_KEY.every((byte, i) => body[1 + i] === byte);
}

/** Writes the `clock` entry (now) right after a map header: the first entry of a metric body. */
export function writeClock(w: MsgpackWriter): void {
  w.str('clock');
  w.float64(clockMicros());
}

/** Writes `micros` as the `clock` of a metric body that starts with one, in place. */
export function stampClock(body: Uint8Array, micros: number): void {
  if (!startsWithClock(body)) return;
  new DataView(body.buffer, body.byteOffset, CLOCK_END).setFloat64(CLOCK_VALUE, micros);
}

/**
 * The metric body without its `clock`, for the spool: a spooled batch may be sent much later, or from another
 * host, so the time it was written says nothing of the sender's clock then. Reuses the body's memory.
 */
export function withoutClock(body: Uint8Array): Uint8Array {
  if (!startsWithClock(body)) return body;
  const rest = body.subarray(CLOCK_END - 1);
  rest[0] = (body[0] ?? 0) - 1;
  return rest;
}

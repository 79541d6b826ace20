import { Readable } from 'node:stream';
import { DTYPE_BYTES } from '@simscope/protocol';
import { pack } from 'msgpackr';
import type { ArrayRead } from '../../services/array-service.js';

/** A msgpack bin 32's marker: its length follows as 4 bytes big-endian, then the bytes. */
const BIN32 = 0xc6;
/** A msgpack fixmap's marker, or'ed with its entry count (up to 15). */
const FIXMAP = 0x80;

/**
 * A read step as one msgpack map: the JSON answer's fields (name, step, time, dtype, shape) and `data`, the
 * elements' little-endian bytes in C order as a bin. The bytes stream through after the map's head, which knows
 * their length from the shape, so a big region never sits in memory whole.
 */
export function msgpackArray(read: Extract<ArrayRead, { format: 'raw' }>): Readable {
  const { step, shape } = read;
  const fields: [string, unknown][] = [
    ['name', step.name],
    ['step', step.step],
    ['time', step.time],
    ['dtype', step.dtype],
    ['shape', shape],
  ];
  const length = shape.reduce((n, side) => n * side, 1) * DTYPE_BYTES[step.dtype];
  const bin = Buffer.alloc(5);
  bin[0] = BIN32;
  bin.writeUInt32BE(length, 1);
  const head = Buffer.concat([
    Buffer.of(FIXMAP | (fields.length + 1)),
    ...fields.flatMap(([k, v]) => [pack(k), pack(v)]),
    pack('data'),
    bin,
  ]);
  async function* body(): AsyncGenerator<Buffer> {
    yield head;
    for await (const part of read.stream) yield part as Buffer;
  }
  return Readable.from(body());
}

import type { KeyMode } from '../datastore.js';
import { RecorderError } from '../errors.js';
import { DTYPES, type DType, VALUE_KINDS, type ValueKind, type ValueType } from '../value-types.js';

/** What every value under one Redis key shares, stored once per key in binary. */
export interface RedisHeader {
  readonly mode: KeyMode;
  readonly type: ValueType;
  /** Largest list element, in bytes, that one value is split into; 0 for strings and JSON (never split). */
  readonly partBytes: number;
}

const MAGIC = 0x43455253; // "SREC" read as a little-endian uint32
const VERSION = 1;
const NO_DTYPE = 0xff;

/**
 * Layout (little-endian): magic "SREC", u8 version, u8 mode (0 list, 1 single), u8 kind,
 * u8 dtype (255 none), u32 part bytes, u8 rank, then one u32 per axis.
 */
export function encodeHeader(header: RedisHeader): Buffer {
  const { shape } = header.type;
  const buffer = Buffer.alloc(13 + 4 * shape.length);
  buffer.writeUInt32LE(MAGIC, 0);
  buffer.writeUInt8(VERSION, 4);
  buffer.writeUInt8(header.mode === 'list' ? 0 : 1, 5);
  buffer.writeUInt8(VALUE_KINDS.indexOf(header.type.kind), 6);
  buffer.writeUInt8(header.type.dtype === null ? NO_DTYPE : DTYPES.indexOf(header.type.dtype), 7);
  buffer.writeUInt32LE(header.partBytes, 8);
  buffer.writeUInt8(shape.length, 12);
  shape.forEach((d, i) => {
    buffer.writeUInt32LE(d, 13 + 4 * i);
  });
  return buffer;
}

export function decodeHeader(buffer: Buffer, redisKey: string): RedisHeader {
  const bad = (why: string) =>
    new RecorderError('unsupported', `Redis key ${redisKey} has a bad header: ${why}`);
  if (buffer.length < 13 || buffer.readUInt32LE(0) !== MAGIC) throw bad('not written by this recorder');
  if (buffer.readUInt8(4) !== VERSION) throw bad(`version ${buffer.readUInt8(4)} is not supported`);
  const kind = VALUE_KINDS[buffer.readUInt8(6)] as ValueKind | undefined;
  const dtypeCode = buffer.readUInt8(7);
  const dtype = dtypeCode === NO_DTYPE ? null : (DTYPES[dtypeCode] as DType | undefined);
  if (!kind || dtype === undefined) throw bad('unknown kind or dtype');
  const rank = buffer.readUInt8(12);
  if (buffer.length !== 13 + 4 * rank) throw bad('truncated shape');
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(buffer.readUInt32LE(13 + 4 * i));
  return {
    mode: buffer.readUInt8(5) === 0 ? 'list' : 'single',
    type: { kind, dtype, shape },
    partBytes: buffer.readUInt32LE(8),
  };
}

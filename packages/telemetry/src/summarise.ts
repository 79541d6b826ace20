import type { Json, JsonObject } from '@simscope/protocol';

/** How much of an argument a record keeps. */
export interface SummaryLimits {
  /** Characters of a string; longer ones end in `…`. */
  stringLength: number;
  /** Items of an array or keys of an object; the rest become a `"… N more"` entry. */
  items: number;
  /** Nesting depth; deeper containers become `"<Array(n)>"` or `"<Object>"`. */
  depth: number;
  /** Values in one record's arguments, all nesting levels together. */
  values: number;
}

export const DEFAULT_SUMMARY_LIMITS: SummaryLimits = { stringLength: 200, items: 20, depth: 3, values: 200 };

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

function tag(value: object): string {
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as { length?: number }).length ?? value.byteLength;
    return `<${value.constructor.name}(${length})>`;
  }
  if (value instanceof ArrayBuffer) return `<ArrayBuffer(${value.byteLength})>`;
  if (value instanceof Map) return `<Map(${value.size})>`;
  if (value instanceof Set) return `<Set(${value.size})>`;
  if (Array.isArray(value)) return `<Array(${value.length})>`;
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  return `<${name || 'Object'}>`;
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A JSON-safe, bounded picture of a value: primitives as they are (long strings cut), plain objects and arrays to
 * a few levels, anything else as a tag such as `"<Float64Array(1000)>"`. Never throws.
 */
export class Summariser {
  readonly #limits: SummaryLimits;
  #budget = 0;

  constructor(limits: Partial<SummaryLimits> = {}) {
    this.#limits = { ...DEFAULT_SUMMARY_LIMITS, ...limits };
  }

  /** The summary of a call's positional arguments and named options, within one budget of values. */
  call(args: readonly unknown[], kwargs: Record<string, unknown>): { args: Json[]; kwargs: JsonObject } {
    this.#budget = this.#limits.values;
    try {
      return { args: this.#array(args, 0), kwargs: this.#object(kwargs, 0) };
    } catch {
      return { args: ['<unreadable>'], kwargs: {} };
    }
  }

  /** The summary of one value on its own budget. */
  value(value: unknown): Json {
    this.#budget = this.#limits.values;
    return this.#value(value, 0);
  }

  #value(value: unknown, depth: number): Json {
    this.#budget--;
    switch (typeof value) {
      case 'string':
        return truncate(value, this.#limits.stringLength);
      case 'number':
        return Number.isFinite(value) ? value : String(value);
      case 'boolean':
        return value;
      case 'bigint':
        return value.toString();
      case 'undefined':
        return null;
      case 'symbol':
        return `<${truncate(value.toString(), this.#limits.stringLength)}>`;
      case 'function':
        return `<function ${value.name || 'anonymous'}>`;
    }
    if (value === null) return null;
    const object = value as object;
    try {
      if (object instanceof Date)
        return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
      if (object instanceof RegExp) return truncate(String(object), this.#limits.stringLength);
      if (object instanceof Error)
        return `<${object.name}: ${truncate(object.message, this.#limits.stringLength)}>`;
      if (depth >= this.#limits.depth || this.#budget <= 0) return tag(object);
      if (Array.isArray(object)) return this.#array(object, depth + 1);
      if (isPlain(object)) return this.#object(object as Record<string, unknown>, depth + 1);
      return tag(object);
    } catch {
      // A proxy or a getter that throws: the record keeps that something was there.
      return '<unreadable>';
    }
  }

  #array(values: readonly unknown[], depth: number): Json[] {
    const n = Math.min(values.length, this.#limits.items);
    const out: Json[] = [];
    for (let i = 0; i < n; i++) {
      if (this.#budget <= 0) break;
      out.push(this.#value(values[i], depth));
    }
    if (out.length < values.length) out.push(`… ${values.length - out.length} more`);
    return out;
  }

  #object(object: Record<string, unknown>, depth: number): JsonObject {
    const out: JsonObject = {};
    let kept = 0;
    let total = 0;
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      total++;
      if (kept >= this.#limits.items || this.#budget <= 0) continue;
      out[truncate(key, this.#limits.stringLength)] = this.#value(object[key], depth);
      kept++;
    }
    if (kept < total) out['…'] = `${total - kept} more`;
    return out;
  }
}

/** True for `{…}` literals and `Object.create(null)`: what a call's named options look like. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && isPlain(value);
}

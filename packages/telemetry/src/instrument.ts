import { TelemetryError } from './errors.js';
import { TelemetryRegister } from './register.js';
import { Telemetry, type TrackOptions } from './telemetry.js';

/** Options of {@link instrument}: those of `track`, less `name` (each function is recorded under its registered name). */
export type InstrumentOptions = Omit<TrackOptions, 'name'>;

const INSTRUMENTED = Symbol.for('simscope.telemetry.instrumented');

type AnyFunction = (...args: never[]) => unknown;

/**
 * Wraps, with `track`, the functions whose names a service registers (`search`, `Catalog.search`), so that a
 * registry is enough to start tracking. Objects, classes (their prototype and statics) and CommonJS exports are
 * changed in place and returned; an ES module namespace, whose bindings are read-only, is returned as a wrapped
 * copy to use instead (classes reached through it are still changed in place). Names not found are skipped, and
 * a function is wrapped once however often this runs.
 * @example
 * const telemetry = Telemetry.default();
 * telemetry.loadRegistry('intake:\n  catalog:\n    - search\n    - Catalog.search\n');
 * instrument(module.exports, 'intake_catalog');             // CommonJS, in place
 * export const api = instrument(await import('./api.js'), 'intake_catalog'); // ES module: a copy
 */
export function instrument<T extends object>(
  target: T,
  registry: TelemetryRegister | string,
  options: InstrumentOptions = {},
): T {
  if ((typeof target !== 'object' && typeof target !== 'function') || target === null) {
    throw new TelemetryError('invalid_field', 'instrument: target must be an object, a class or a module');
  }
  const register =
    registry instanceof TelemetryRegister
      ? registry
      : new TelemetryRegister(registry, { telemetry: options.telemetry ?? Telemetry.default() });
  const telemetry = options.telemetry ?? Telemetry.default();
  const isNamespace = Object.prototype.toString.call(target) === '[object Module]';
  const result = (isNamespace ? { ...target } : target) as Record<string, unknown>;
  const targetName = typeof target === 'function' ? (target as { name: string }).name : undefined;
  for (const name of register.functions) {
    const parts = name.split('.');
    let owner: unknown = result;
    let path = parts;
    if (targetName !== undefined && parts.length > 1 && parts[0] === targetName) path = parts.slice(1);
    for (const part of path.slice(0, -1)) {
      owner = owner === null || owner === undefined ? undefined : (owner as Record<string, unknown>)[part];
    }
    if ((typeof owner !== 'object' && typeof owner !== 'function') || owner === null) continue;
    const last = path[path.length - 1] as string;
    const holder = holderOf(
      owner as Record<string, unknown>,
      last,
      path.length > 1 || typeof target === 'function',
    );
    if (!holder) continue;
    const fn = holder[last] as AnyFunction & { [INSTRUMENTED]?: true };
    if (fn[INSTRUMENTED]) continue;
    const descriptor = Object.getOwnPropertyDescriptor(holder, last) as PropertyDescriptor;
    if (!descriptor.writable && !descriptor.configurable) {
      throw new TelemetryError(
        'invalid_field',
        `instrument: '${name}' is read-only on the target; track it with track() where it is defined`,
      );
    }
    const wrapped = telemetry.track(register.service, fn, { ...options, telemetry, name }) as AnyFunction & {
      [INSTRUMENTED]?: true;
    };
    if (wrapped === fn) continue;
    Object.defineProperty(wrapped, INSTRUMENTED, { value: true });
    Object.defineProperty(holder, last, { ...descriptor, value: wrapped });
  }
  return result as T;
}

/** Where the function `name` of `owner` lives: a class's prototype (instance method) before the class (static). */
function holderOf(
  owner: Record<string, unknown>,
  name: string,
  mayBeClass: boolean,
): Record<string, unknown> | undefined {
  if (mayBeClass && typeof owner === 'function') {
    const prototype = (owner as { prototype?: Record<string, unknown> }).prototype;
    if (prototype && typeof Object.getOwnPropertyDescriptor(prototype, name)?.value === 'function')
      return prototype;
  }
  return typeof Object.getOwnPropertyDescriptor(owner, name)?.value === 'function' ? owner : undefined;
}

import { TelemetryError } from './errors.js';
import { Telemetry } from './telemetry.js';

type Registrable = string | ((...args: never[]) => unknown);

/**
 * The functions registered for one service, made (empty) when the service is new. Prints as its list.
 *
 * @example
 * const registry = new TelemetryRegister('my_service');
 * registry.register('some_func', anotherFunc);
 * console.log(`${registry}`); // ["some_func", "anotherFunc"]
 */
export class TelemetryRegister {
  /** The service name, `intake_catalog`. */
  readonly service: string;
  /** The endpoint path, `intake/catalog`. */
  readonly endpoint: string;
  readonly #telemetry: Telemetry;

  constructor(service: string, options: { telemetry?: Telemetry } = {}) {
    if (typeof service !== 'string' || service === '') {
      throw new TelemetryError('invalid_field', 'service: expected a service name such as intake_catalog');
    }
    this.#telemetry = options.telemetry ?? Telemetry.default();
    const entry =
      this.#telemetry.services().find((s) => s.name === service || s.endpoint === service) ??
      this.#telemetry.addService(service);
    this.service = entry.name;
    this.endpoint = entry.endpoint;
  }

  /** Registers functions, by name or by the function itself; returns this register. */
  register(...functions: Registrable[]): this {
    this.#telemetry.register(this.service, ...functions);
    return this;
  }

  /** Deregisters functions; their tracked calls stop being recorded. */
  deregister(...functions: Registrable[]): this {
    this.#telemetry.deregister(this.service, ...functions);
    return this;
  }

  has(fn: Registrable): boolean {
    return this.functions.includes(typeof fn === 'function' ? fn.name : fn);
  }

  /** The registered function names, in registration order. */
  get functions(): string[] {
    return this.#telemetry.functions(this.service);
  }

  toJSON(): string[] {
    return this.functions;
  }

  /** The list as `["a", "b"]`. */
  toString(): string {
    return `[${this.functions.map((f) => JSON.stringify(f)).join(', ')}]`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

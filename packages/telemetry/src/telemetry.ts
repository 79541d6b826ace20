import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Json, JsonObject } from '@simscope/protocol';
// The zod-free subpath: the route table without the schemas.
import { API_PREFIX, pathOf } from '@simscope/protocol/api';
import { BatchSender, type BuildResult, type PreparedBatch, type TelemetryStats } from './batch-sender.js';
import { type ConsentStatus, telemetryStatus } from './consent.js';
import { TelemetryError } from './errors.js';
import { checkEndpoint, parseRegistry, type ServiceEntry, serviceName } from './registry.js';
import { sessionId } from './session.js';
import { isPlainObject, Summariser, type SummaryLimits } from './summarise.js';

/** A call as a redaction hook sees it, before anything is summarised or sent. */
export interface TrackedCall {
  service: string;
  function: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/** Returns what to record of a call's arguments (a copy with secrets removed, say), or null to record nothing. */
export type Redactor = (call: TrackedCall) => { args: unknown[]; kwargs: Record<string, unknown> } | null;

export interface TelemetryConfig {
  /** A registry in YAML (`service: endpoint: [function names]`) to load at once. */
  registry?: string;
  /**
   * A registry file to load at once; a problem with it throws. Default: the file `SIMSCOPE_TELEMETRY_REGISTRY`
   * (in `env`) names, else `telemetry.yaml` next to this package when there is one, and a problem with either is
   * reported to `onError` (or as a process warning) instead. `false` loads no file.
   */
  registryFile?: string | URL | false;
  /** The library's own switch: false keeps telemetry off. It cannot turn on what the user turned off. */
  enabled?: boolean;
  /** Environment read for consent (`DO_NOT_TRACK`, `SIMSCOPE_TELEMETRY`, `SIMSCOPE_CONFIG`); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where the search for a project `simscope.toml` starts; default the working directory. */
  cwd?: string;
  /** The user config file; default from `env`. */
  configFile?: string;
  /** The field `name`: true (the default) for the login name, a string to send instead, false to leave it out. */
  userName?: boolean | string;
  /** Runs on every call's arguments before they are summarised, off the caller's path. */
  redact?: Redactor;
  /** Calls held at once (queued or unacknowledged); more are dropped and counted. Default 100 000. */
  queueSize?: number;
  /** Records per request. Default 1000. */
  batchSize?: number;
  /** Longest a call waits before its batch is sent. Default 1000 ms. */
  flushIntervalMs?: number;
  requestTimeoutMs?: number;
  /** Longest the process spends at exit sending what is left. Default 1000 ms. */
  exitTimeoutMs?: number;
  /** How much of each argument a record keeps. */
  summary?: Partial<SummaryLimits>;
  /** Told about each distinct sending problem once; telemetry never throws them at the caller. */
  onError?: (error: TelemetryError) => void;
  /** Flush at process exit (default true). */
  exitHooks?: boolean;
}

export interface TrackOptions {
  /** The function's name in records and in the registry; default `fn.name` (`Class.method` for `@tracked`). */
  name?: string;
  /** Fields added to this function's records. */
  extraFields?: Record<string, unknown>;
  /** Fields removed from this function's records (`session_id`, say). */
  popFields?: readonly string[];
  /** Records the last argument as `kwargs` when it is a plain object (named options). Default true. */
  namedOptions?: boolean;
  redact?: Redactor;
  /** The telemetry instance; default `Telemetry.default()`. */
  telemetry?: Telemetry;
}

/** Where a service's records go. */
export interface Destination {
  /** The Simscope server, e.g. `https://simscope.example.org`. */
  url: string;
  /** The service's ingest-only telemetry key (`stk_…`). */
  key: string;
}

const RESERVED = new Set(['id', 'function', 'args', 'kwargs', 'session_id', 'timestamp']);
/** The environment variable that names a default registry file. */
export const REGISTRY_ENV = 'SIMSCOPE_TELEMETRY_REGISTRY';
/** The registry file read by default when `SIMSCOPE_TELEMETRY_REGISTRY` is not set, as `config.yaml` in the original. */
export const DEFAULT_REGISTRY_FILE = fileURLToPath(new URL('../telemetry.yaml', import.meta.url));
const RECORD_BYTES = 64 * 1024;

interface ServiceState {
  name: string;
  endpoint: string;
  functions: Set<string>;
  sites: Set<CallSite>;
  extra: JsonObject;
  popped: Set<string>;
  destination: (Destination & { ingest: string }) | undefined;
}

/** The JSON of a record around the call's own values: `head`, then args, kwargs and timestamp if kept, `tail`. */
interface RecordShape {
  head: string;
  args: boolean;
  kwargs: boolean;
  timestamp: boolean;
  tail: string;
}

/** One tracked function: what the wrapper consults on every call. */
class CallSite {
  active = false;
  readonly service: ServiceState;
  readonly name: string;
  readonly extra: JsonObject | undefined;
  readonly popped: readonly string[] | undefined;
  readonly namedOptions: boolean;
  readonly redact: Redactor | undefined;

  constructor(service: ServiceState, name: string, options: TrackOptions, summarise: (v: unknown) => Json) {
    this.service = service;
    this.name = name;
    this.namedOptions = options.namedOptions ?? true;
    this.redact = options.redact;
    if (options.extraFields) this.extra = summariseFields(options.extraFields, summarise, 'extraFields');
    if (options.popFields) this.popped = checkPopped(options.popFields, 'popFields');
  }
}

function summariseFields(fields: Record<string, unknown>, summarise: (v: unknown) => Json, where: string) {
  if (!isPlainObject(fields)) {
    throw new TelemetryError('invalid_field', `${where}: expected an object of field names to values`);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) {
    if (RESERVED.has(key)) {
      throw new TelemetryError(
        'invalid_field',
        `${where}.${key}: '${key}' is a field of every record, not an extra field; use popFields to leave it out`,
      );
    }
    out[key] = summarise(value);
  }
  return out;
}

function checkPopped(names: readonly string[], where: string): string[] {
  for (const name of names) {
    if (typeof name !== 'string' || name === 'function') {
      throw new TelemetryError(
        'invalid_field',
        `${where}: cannot remove ${JSON.stringify(name)} from records`,
      );
    }
  }
  return [...names];
}

/** The endpoints a service name with `_` could stand for, a few of them: `a_b_c` → `a/b/c`, `a/b_c`, … */
function endpointsOf(name: string): string {
  const parts = name.split('_');
  const splits = 2 ** (parts.length - 1);
  const shown: string[] = [];
  for (let mask = splits - 1; mask >= 0 && shown.length < 4; mask--) {
    let endpoint = parts[0] as string;
    for (let i = 1; i < parts.length; i++) endpoint += (mask & (1 << (i - 1)) ? '/' : '_') + parts[i];
    shown.push(`'${endpoint}'`);
  }
  return shown.join(', ') + (splits > shown.length ? ', …' : '');
}

function loginName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/**
 * Usage telemetry for a library: a registry of services and their tracked functions, the fields records carry,
 * where each service sends, and one sender. `Telemetry.default()` is the process's instance; tests make their own
 * and pass it as `track(..., { telemetry })`.
 *
 * @example
 * const telemetry = Telemetry.default();
 * telemetry.loadRegistry('intake:\n  catalog:\n    - search\n');
 * telemetry.setDestination('intake_catalog', { url: 'https://simscope.example.org', key: 'stk_…' });
 * export const search = track('intake_catalog', function search(query: string) { … });
 */
export class Telemetry {
  static #default: Telemetry | undefined;

  /** The process's telemetry instance, made on first use from the environment and the config files. */
  static default(): Telemetry {
    Telemetry.#default ??= new Telemetry();
    return Telemetry.#default;
  }

  /** Whether this instance records and sends anything; fixed when it is made. */
  readonly enabled: boolean;
  /** The user's choice and where it came from; null when the library switched telemetry off. */
  readonly consent: ConsentStatus | null;
  readonly #services = new Map<string, ServiceState>();
  readonly #sender: BatchSender<CallSite>;
  readonly #summariser: Summariser;
  readonly #redact: Redactor | undefined;
  readonly #userName: string | undefined;
  readonly #writer = `t-${randomBytes(12).toString('base64url')}`;
  readonly #onError: (error: TelemetryError) => void;
  readonly #reported = new Set<string>();
  #seq = 0;

  constructor(config: TelemetryConfig = {}) {
    this.consent =
      config.enabled === false
        ? null
        : telemetryStatus({
            env: config.env ?? process.env,
            cwd: config.cwd ?? process.cwd(),
            ...(config.configFile === undefined ? {} : { file: config.configFile }),
          });
    this.enabled = this.consent?.enabled ?? false;
    this.#summariser = new Summariser(config.summary);
    this.#redact = config.redact;
    const userName = config.userName ?? true;
    this.#userName = userName === true ? loginName() : userName || undefined;
    this.#onError = config.onError ?? (() => undefined);
    this.#sender = new BatchSender<CallSite>({
      queueSize: config.queueSize ?? 100_000,
      batchSize: config.batchSize ?? 1000,
      flushIntervalMs: config.flushIntervalMs ?? 1000,
      requestTimeoutMs: config.requestTimeoutMs ?? 10_000,
      exitTimeoutMs: config.exitTimeoutMs ?? 1000,
      concurrency: 2,
      exitHooks: config.exitHooks ?? true,
      build: (sites, args, times) => this.#build(sites, args, times),
      onError: this.#onError,
    });
    this.#loadDefaultRegistry(config);
    if (config.registry !== undefined) this.loadRegistry(config.registry);
  }

  #loadDefaultRegistry(config: TelemetryConfig): void {
    if (config.registryFile === false) return;
    if (config.registryFile !== undefined) {
      this.loadRegistryFile(config.registryFile);
      return;
    }
    const named = (config.env ?? process.env)[REGISTRY_ENV];
    const file = named ? named : existsSync(DEFAULT_REGISTRY_FILE) ? DEFAULT_REGISTRY_FILE : undefined;
    if (file === undefined) return;
    try {
      this.loadRegistryFile(file);
    } catch (error) {
      // A library's import must not fail over a user's environment variable: say so, track nothing from it.
      const problem = error as TelemetryError;
      if (config.onError) this.#reportOnce(problem);
      else process.emitWarning(problem.message, { code: 'SIMSCOPE_TELEMETRY_REGISTRY' });
    }
  }

  /** Reads a registry file (YAML) and adds its services and functions; a missing or bad file throws. */
  loadRegistryFile(file: string | URL): ServiceEntry[] {
    const path = file instanceof URL ? fileURLToPath(file) : file;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new TelemetryError(
        'not_found',
        `registry file '${path}' cannot be read: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return this.loadRegistry(text, path);
  }

  /** This process's session id (see `sessionId()`). */
  get sessionId(): string {
    return sessionId();
  }

  /** Adds the services and functions of a registry in YAML; an endpoint listed again takes the new list's names too. */
  loadRegistry(yaml: string, source = 'registry'): ServiceEntry[] {
    const entries = parseRegistry(yaml, source);
    for (const entry of entries) {
      const service = this.#ensure(entry.endpoint);
      this.register(service.name, ...entry.functions);
    }
    return entries;
  }

  /** Every service with its endpoint and registered functions. */
  services(): ServiceEntry[] {
    return [...this.#services.values()].map((s) => ({
      name: s.name,
      endpoint: s.endpoint,
      functions: [...s.functions],
    }));
  }

  /** True when `service` (a name like `intake_catalog` or an endpoint like `intake/catalog`) is known. */
  hasService(service: string): boolean {
    return this.#find(service) !== undefined;
  }

  /**
   * Makes a service known, if it is not. A name is looked up among the registry's services; an endpoint
   * (`my/service`) or a name without `_` (`top`) is made as given. A new name with `_` is refused, as it could
   * stand for several endpoints (`my_service`: `my/service` or `my_service`): pass the endpoint instead.
   */
  addService(service: string): ServiceEntry {
    const s = this.#resolve(service, 'service');
    return { name: s.name, endpoint: s.endpoint, functions: [...s.functions] };
  }

  /** Names of the functions registered for a service. */
  functions(service: string): string[] {
    return [...this.#get(service).functions];
  }

  /** Registers function names (or functions, by their name) for a service; calls to tracked ones are recorded. */
  register(service: string, ...functions: (string | ((...args: never[]) => unknown))[]): void {
    const s = this.#get(service);
    for (const name of functions.map((f) => this.#nameOf(f))) {
      s.functions.add(name);
      this.#refresh(s, name);
    }
  }

  /** Deregisters function names: their tracked calls stop being recorded. */
  deregister(service: string, ...functions: (string | ((...args: never[]) => unknown))[]): void {
    const s = this.#get(service);
    for (const name of functions.map((f) => this.#nameOf(f))) {
      s.functions.delete(name);
      this.#refresh(s, name);
    }
  }

  /** Sends a service's records to a Simscope server with the service's ingest-only key. */
  setDestination(service: string, destination: Destination): void {
    const s = this.#get(service);
    let url: URL;
    try {
      url = new URL(destination.url);
    } catch (error) {
      throw new TelemetryError('invalid_field', `destination.url: not a URL: '${destination.url}'`, {
        cause: error,
      });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TelemetryError(
        'invalid_field',
        `destination.url: must be http or https, got '${url.protocol}'`,
      );
    }
    if (typeof destination.key !== 'string' || destination.key.trim() === '') {
      throw new TelemetryError(
        'invalid_field',
        'destination.key: the telemetry key of the service is required',
      );
    }
    const base = destination.url.replace(/\/+$/, '');
    s.destination = {
      url: base,
      key: destination.key,
      ingest: `${base}${API_PREFIX}${pathOf('ingestTelemetry', { '*': s.endpoint })}`,
    };
  }

  /** Merges fields into every record of a service. */
  addExtraField(service: string, fields: Record<string, unknown>): void {
    const s = this.#get(service);
    const summarised = summariseFields(fields, (v) => this.#summariser.value(v), 'fields');
    for (const key of Object.keys(summarised)) s.popped.delete(key);
    Object.assign(s.extra, summarised);
  }

  /** Removes fields from every record of a service: extra fields, or default ones such as `session_id`. */
  popFields(service: string, names: readonly string[]): void {
    const s = this.#get(service);
    for (const name of checkPopped(names, 'names')) {
      delete s.extra[name];
      s.popped.add(name);
    }
  }

  /** The fields every record of a service carries besides the call's own. */
  extraFields(service: string): JsonObject {
    return { ...this.#get(service).extra };
  }

  /**
   * Wraps `fn` so that each call is recorded for `service` (registering its name there), then runs `fn` as is.
   * When telemetry is off, returns `fn` itself.
   */
  track<F extends (...args: never[]) => unknown>(service: string, fn: F, options: TrackOptions = {}): F {
    if (typeof fn !== 'function') throw new TelemetryError('invalid_field', 'track: expected a function');
    const name = options.name ?? fn.name;
    if (!name) {
      throw new TelemetryError(
        'invalid_field',
        'track: the function has no name; pass { name } in the options',
      );
    }
    const s = this.#resolve(service, 'track: service');
    const site = new CallSite(s, name, options, (v) => this.#summariser.value(v));
    s.sites.add(site);
    s.functions.add(name);
    this.#refresh(s, name);
    if (!this.enabled) return fn;
    const sender = this.#sender;
    const target = fn as unknown as (...args: unknown[]) => unknown;
    const tracked = function (this: unknown, ...args: unknown[]): unknown {
      if (site.active) sender.push(site, args);
      return target.apply(this, args);
    };
    Object.defineProperty(tracked, 'name', { value: fn.name, configurable: true });
    Object.defineProperty(tracked, 'length', { value: fn.length, configurable: true });
    return tracked as unknown as F;
  }

  stats(): TelemetryStats {
    return this.#sender.stats();
  }

  /** Sends what is queued; resolves once it is acknowledged or given up, or after `timeoutMs`. Never rejects. */
  flush(timeoutMs?: number): Promise<TelemetryStats> {
    return this.#sender.flush(timeoutMs);
  }

  /** Flushes for at most `timeoutMs` (default 5 s), then stops: later calls are not recorded. */
  close(timeoutMs = 5000): Promise<TelemetryStats> {
    return this.#sender.close(timeoutMs);
  }

  #nameOf(f: string | ((...args: never[]) => unknown)): string {
    const name = typeof f === 'function' ? f.name : f;
    if (typeof name !== 'string' || name === '') {
      throw new TelemetryError('invalid_field', 'register: expected function names or named functions');
    }
    return name;
  }

  #find(service: string): ServiceState | undefined {
    const byName = this.#services.get(service);
    if (byName) return byName;
    if (!service.includes('/')) return undefined;
    const s = this.#services.get(serviceName(service));
    return s?.endpoint === service ? s : undefined;
  }

  #resolve(service: string, where: string): ServiceState {
    const known = this.#find(service);
    if (known) return known;
    if (typeof service === 'string' && !service.includes('/') && service.includes('_')) {
      throw new TelemetryError(
        'invalid_field',
        `${where}: '${service}' is not a service of the registry, and a name with '_' could stand for several endpoints (${endpointsOf(service)}); pass the endpoint, or declare it in a registry`,
      );
    }
    return this.#ensure(service);
  }

  #get(service: string): ServiceState {
    const s = this.#find(service);
    if (!s) {
      throw new TelemetryError(
        'not_found',
        `service '${service}' not found; declare it in a registry (loadRegistry), with new TelemetryRegister('${service}'), or by tracking a function of it`,
      );
    }
    return s;
  }

  #ensure(endpoint: string): ServiceState {
    checkEndpoint(endpoint, 'service');
    const name = serviceName(endpoint);
    let s = this.#services.get(name);
    if (!s) {
      s = {
        name,
        endpoint,
        functions: new Set(),
        sites: new Set(),
        extra: {},
        popped: new Set(),
        destination: undefined,
      };
      this.#services.set(name, s);
    } else if (s.endpoint !== endpoint) {
      throw new TelemetryError(
        'conflict',
        `service: endpoints '${s.endpoint}' and '${endpoint}' both make the service name '${name}'; rename one of them`,
      );
    }
    return s;
  }

  #refresh(s: ServiceState, name: string): void {
    const active = this.enabled && s.functions.has(name);
    for (const site of s.sites) if (site.name === name) site.active = active;
  }

  #reportOnce(error: TelemetryError): void {
    if (this.#reported.has(error.message)) return;
    this.#reported.add(error.message);
    try {
      this.#onError(error);
    } catch {
      // never reaches the caller
    }
  }

  #shape(site: CallSite): RecordShape {
    const popped = new Set([...site.service.popped, ...(site.popped ?? [])]);
    const shared: Record<string, unknown> = {};
    if (!popped.has('session_id')) shared.session_id = sessionId();
    if (this.#userName !== undefined) shared.name = this.#userName;
    Object.assign(shared, site.service.extra, site.extra);
    for (const field of popped) delete shared[field];
    const tail = JSON.stringify(shared);
    return {
      head: `{"function":${JSON.stringify(site.name)}`,
      args: !popped.has('args'),
      kwargs: !popped.has('kwargs'),
      timestamp: !popped.has('timestamp'),
      tail: tail === '{}' ? '}' : `,${tail.slice(1)}`,
    };
  }

  #build(sites: CallSite[], args: unknown[][], times: number[]): BuildResult {
    const groups = new Map<ServiceState, string[]>();
    let failed = 0;
    let skipped = 0;
    // What every record of a site shares, worked out once per build (fields cannot change during one).
    const shapes = new Map<CallSite, RecordShape>();
    for (let i = 0; i < sites.length; i++) {
      const site = sites[i];
      if (!site) continue;
      const service = site.service;
      if (!service.destination) {
        failed++;
        this.#reportOnce(
          new TelemetryError(
            'not_found',
            `service '${service.name}' has no destination; call setDestination('${service.name}', { url, key })`,
          ),
        );
        continue;
      }
      let positional = args[i] ?? [];
      let named: Record<string, unknown> = {};
      const last = positional[positional.length - 1];
      if (site.namedOptions && isPlainObject(last)) {
        named = last;
        positional = positional.slice(0, -1);
      }
      let kept = true;
      try {
        for (const redact of [site.redact, this.#redact]) {
          if (!redact || !kept) continue;
          const left = redact({
            service: service.name,
            function: site.name,
            args: positional,
            kwargs: named,
          });
          if (left === null) kept = false;
          else {
            positional = Array.isArray(left.args) ? left.args : [];
            named = isPlainObject(left.kwargs) ? left.kwargs : {};
          }
        }
      } catch (error) {
        failed++;
        this.#reportOnce(
          new TelemetryError(
            'internal',
            `redact hook failed for '${site.name}': ${(error as Error).message}`,
          ),
        );
        continue;
      }
      if (!kept) {
        skipped++;
        continue;
      }
      let shape = shapes.get(site);
      if (!shape) {
        shape = this.#shape(site);
        shapes.set(site, shape);
      }
      const summary = this.#summariser.call(positional, named);
      let json = shape.head;
      if (shape.args) json += `,"args":${JSON.stringify(summary.args)}`;
      if (shape.kwargs) json += `,"kwargs":${JSON.stringify(summary.kwargs)}`;
      if (shape.timestamp) json += `,"timestamp":${(times[i] ?? 0) * 1000}`;
      json += shape.tail;
      if (json.length > RECORD_BYTES) {
        failed++;
        this.#reportOnce(
          new TelemetryError('payload_too_large', `a record of '${site.name}' exceeds ${RECORD_BYTES} bytes`),
        );
        continue;
      }
      let group = groups.get(service);
      if (!group) {
        group = [];
        groups.set(service, group);
      }
      group.push(json);
    }
    const batches: PreparedBatch[] = [];
    for (const [service, records] of groups) {
      const destination = service.destination;
      if (!destination) continue;
      batches.push({
        url: destination.ingest,
        key: destination.key,
        endpoint: service.endpoint,
        body: `{"writer":"${this.#writer}","seq":${this.#seq++},"records":[${records.join(',')}]}`,
        count: records.length,
        attempts: 0,
        notBefore: 0,
      });
    }
    return { batches, failed, skipped };
  }
}

/**
 * Wraps `fn` so that each call is recorded for `service`: the main API. The call itself runs unchanged, never
 * waits for the network and never sees a telemetry error.
 *
 * @example
 * export const search = track('intake_catalog', function search(query: string, options = {}) { … });
 */
export function track<F extends (...args: never[]) => unknown>(
  service: string,
  fn: F,
  options: TrackOptions = {},
): F {
  return (options.telemetry ?? Telemetry.default()).track(service, fn, options);
}

/**
 * A method decorator that tracks the method as `Class.method`, in the legacy (`experimentalDecorators`) flavour,
 * the one TypeScript, esbuild, oxc (vite, vitest) and swc all compile for Node 20.
 *
 * @example
 * class Catalog {
 *   @tracked('intake_catalog') search(query: string) { … }
 * }
 */
export function tracked(service: string, options: TrackOptions = {}) {
  return function decorate<T>(
    target: object,
    key: string | symbol,
    descriptor?: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> | undefined {
    if (typeof descriptor !== 'object' || typeof descriptor?.value !== 'function') {
      throw new TelemetryError(
        'invalid_field',
        '@tracked is a method decorator for experimentalDecorators; with standard decorators, or on a field, wrap the function with track() instead',
      );
    }
    const owner = typeof target === 'function' ? target.name : target.constructor.name;
    descriptor.value = track(service, descriptor.value as (...args: never[]) => unknown, {
      ...options,
      name: options.name ?? `${owner}.${String(key)}`,
    }) as T;
    return descriptor;
  };
}

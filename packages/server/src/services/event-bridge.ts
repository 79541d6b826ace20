import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Store } from '../store/store.js';
import type { DomainEvent, DomainEvents } from './domain-events.js';
import { runView } from './run-service.js';

/** The channel every server process of one database listens on. */
const EVENT_CHANNEL = 'simscope_events';

/** NOTIFY refuses payloads of 8000 bytes or more; an event larger than this goes as ids and is re-read. */
const MAX_PAYLOAD = 7900;

/** A `run.changed` too large for NOTIFY: the receiving process reads the run again. */
interface RunChangedRef {
  type: 'run.changed.ref';
  workspaceId: string;
  runId: string;
}

interface Notice {
  /** The sending process, which does not publish its own events twice. */
  from: string;
  event: DomainEvent | RunChangedRef;
}

export interface EventBridgeConfig {
  url: string;
  bus: DomainEvents;
  /** Re-reads a run whose change was too large to send. */
  store: Pick<Store, 'runs'>;
  /** How long to wait before listening again after the connection failed, in ms (default 1000). */
  retryMs?: number;
  onError?(error: unknown): void;
}

/**
 * Carries domain events between server processes over PostgreSQL `LISTEN/NOTIFY`: every event published on this
 * process's bus is sent on `simscope_events` (the event itself when small, the run's id when not), and every
 * event another process sends is published on this bus, so a live stream on one server sees writes taken by any.
 * One connection of its own listens and sends; NOTIFY delivers in commit order, after the write committed.
 */
export class PostgresEventBridge {
  readonly #config: EventBridgeConfig;
  readonly #id = randomUUID();
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  /** Sends go one after the other on the connection, in publication order. */
  #sending: Promise<unknown> = Promise.resolve();

  constructor(config: EventBridgeConfig) {
    this.#config = config;
  }

  /** Listens, and starts sending this bus's events. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#connect();
    this.#unsubscribe = this.#config.bus.subscribe((event, origin) => {
      if (origin === 'local') this.#send(event);
    });
  }

  #connect(): Promise<pg.Client> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.#config.url });
      const lose = (error?: unknown) => {
        if (this.#client !== client) return;
        this.#client = undefined;
        client.end().catch(() => undefined);
        if (this.#stopped) return;
        if (error !== undefined) this.#config.onError?.(error);
        this.#retry = setTimeout(() => {
          this.#connect().catch((e) => this.#config.onError?.(e));
        }, this.#config.retryMs ?? 1000);
        this.#retry.unref();
      };
      client.on('error', lose);
      client.on('end', () => lose());
      client.on('notification', (message) => {
        if (message.channel === EVENT_CHANNEL && message.payload) this.#receive(message.payload);
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${EVENT_CHANNEL}`);
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
      this.#client = client;
      return client;
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #send(event: DomainEvent): void {
    let payload = JSON.stringify({ from: this.#id, event } satisfies Notice);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) {
      if (event.type !== 'run.changed') {
        this.#config.onError?.(new Error(`a ${event.type} event is too large to send to other servers`));
        return;
      }
      const ref: RunChangedRef = {
        type: 'run.changed.ref',
        workspaceId: event.workspaceId,
        runId: event.run.id,
      };
      payload = JSON.stringify({ from: this.#id, event: ref } satisfies Notice);
    }
    this.#sending = this.#sending
      .then(() => this.#connect())
      .then((client) => client.query('SELECT pg_notify($1, $2)', [EVENT_CHANNEL, payload]))
      .catch((error) => this.#config.onError?.(error));
  }

  #receive(payload: string): void {
    let notice: Notice;
    try {
      notice = JSON.parse(payload) as Notice;
    } catch (error) {
      this.#config.onError?.(error);
      return;
    }
    if (notice.from === this.#id) return;
    const { event } = notice;
    if (event.type !== 'run.changed.ref') {
      this.#publish(event);
      return;
    }
    this.#config.store.runs
      .getRun(event.workspaceId, event.runId)
      .then((run) => {
        if (run) this.#publish({ type: 'run.changed', workspaceId: event.workspaceId, run: runView(run) });
      })
      .catch((error) => this.#config.onError?.(error));
  }

  /** Publishes another process's event here, as `remote`: it is not sent back, nor counted twice. */
  #publish(event: DomainEvent): void {
    this.#config.bus.publish(event, 'remote');
  }

  /** Stops sending and listening. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#unsubscribe?.();
    await this.#sending;
    await this.#connecting?.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}

import pg from 'pg';

/**
 * The work that must run in one server process at a time. Each is one advisory lock, numbered by its place here:
 * add new ones at the end.
 */
export const LEASES = [
  'lost-runs',
  'alert-evaluation',
  'notification-outbox',
  'blob-gc',
  'retention',
] as const;

export type LeaseName = (typeof LEASES)[number];

/** Tells periodic work whether this process may run it now. */
export interface Leases {
  /** True while this process holds `name`; work that must run once skips its tick otherwise. */
  holds(name: LeaseName): boolean;
  /** The leases this process holds now. */
  held(): LeaseName[];
  /** Starts taking leases (and retaking them after a lost connection). */
  start(): Promise<void>;
  /** Releases every lease and stops taking them. */
  stop(): Promise<void>;
}

/** One process over SQLite: it holds every lease (SQLite's file lock already keeps a second server out). */
export class LocalLeases implements Leases {
  holds(_name: LeaseName): boolean {
    return true;
  }

  held(): LeaseName[] {
    return [...LEASES];
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}

/** First key of every Simscope advisory lock (`pg_try_advisory_lock(int, int)`): "SIMS" in ASCII. */
const LOCK_SPACE = 0x53494d53;

export interface PostgresLeasesConfig {
  url: string;
  /** How often a lease not held is tried again, in ms (default 1000): the take-over time after a holder dies. */
  retryMs?: number;
  /** Told when the lease connection fails; it is opened again after `retryMs`. */
  onError?(error: unknown): void;
  /** Told when this process takes or loses a lease. */
  onChange?(name: LeaseName, held: boolean): void;
}

/**
 * Leases as PostgreSQL session-level advisory locks on one connection of their own: a process that dies or loses
 * its connection loses its locks at once (the server ends the session), and another process takes each lease the
 * next time it tries, within `retryMs`.
 */
export class PostgresLeases implements Leases {
  readonly #config: PostgresLeasesConfig;
  readonly #retryMs: number;
  readonly #held = new Set<LeaseName>();
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #trying: Promise<void> | undefined;
  #stopped = false;

  constructor(config: PostgresLeasesConfig) {
    this.#config = config;
    this.#retryMs = config.retryMs ?? 1000;
  }

  holds(name: LeaseName): boolean {
    return this.#held.has(name);
  }

  held(): LeaseName[] {
    return LEASES.filter((name) => this.#held.has(name));
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#tryAll();
    this.#timer ??= setInterval(() => {
      this.#trying ??= this.#tryAll().finally(() => {
        this.#trying = undefined;
      });
    }, this.#retryMs);
    this.#timer.unref();
  }

  async #connect(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const client = new pg.Client({ connectionString: this.#config.url });
    const lose = (error?: unknown) => {
      if (this.#client !== client) return;
      this.#client = undefined;
      this.#loseAll();
      if (error !== undefined && !this.#stopped) this.#config.onError?.(error);
      client.end().catch(() => undefined);
    };
    client.on('error', lose);
    client.on('end', () => lose());
    await client.connect();
    this.#client = client;
    return client;
  }

  #loseAll(): void {
    for (const name of this.#held) this.#config.onChange?.(name, false);
    this.#held.clear();
  }

  async #tryAll(): Promise<void> {
    if (this.#stopped) return;
    try {
      const client = await this.#connect();
      for (const [i, name] of LEASES.entries()) {
        if (this.#held.has(name)) continue;
        const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
          LOCK_SPACE,
          i + 1,
        ]);
        if (rows[0]?.ok && this.#client === client && !this.#stopped) {
          this.#held.add(name);
          this.#config.onChange?.(name, true);
        }
      }
    } catch (error) {
      this.#config.onError?.(error);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#trying;
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    try {
      await client.query('SELECT pg_advisory_unlock_all()');
    } finally {
      this.#loseAll();
      await client.end().catch(() => undefined);
    }
  }
}

/** Leases for the store a `--db` setting names: PostgreSQL advisory locks, or all held in-process on SQLite. */
export function openLeases(db: string | undefined, config: Omit<PostgresLeasesConfig, 'url'> = {}): Leases {
  return db && /^postgres(ql)?:\/\//.test(db)
    ? new PostgresLeases({ url: db, ...config })
    : new LocalLeases();
}

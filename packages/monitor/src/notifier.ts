import type { EventLevel } from '@simscope/protocol';

/** Something a monitor tells: a console, a mailbox, a webhook, a run. A notifier may throw; the others still hear. */
export interface Notifier {
  notify(title: string, message: string): void | Promise<void>;
}

/** Writes each notification as a line: `TIME title: message`. */
export class ConsoleNotifier implements Notifier {
  readonly #out: { write(text: string): unknown };

  constructor(out: { write(text: string): unknown } = process.stdout) {
    this.#out = out;
  }

  notify(title: string, message: string): void {
    this.#out.write(`${new Date().toISOString()} ${title}: ${message}\n`);
  }
}

/** Keeps every notification in memory, oldest first: for tests, and for code that checks what was said. */
export class CollectingNotifier implements Notifier {
  readonly notifications: { title: string; message: string; at: Date }[] = [];

  notify(title: string, message: string): void {
    this.notifications.push({ title, message, at: new Date() });
  }
}

/** What `RunNotifier` needs of a run: `Run` from `@simscope/client` fits. */
export interface EventSink {
  logEvent(message: string, options?: { level?: EventLevel }): void;
}

/** Logs each notification as an event of a Simscope run: `warning` for titles starting WARNING, else `info`. */
export class RunNotifier implements Notifier {
  readonly #run: EventSink;

  constructor(run: EventSink) {
    this.#run = run;
  }

  notify(title: string, message: string): void {
    const level: EventLevel = /^(WARNING|CRITICAL|ERROR)\b/i.test(title) ? 'warning' : 'info';
    this.#run.logEvent(`${title}: ${message}`, { level });
  }
}

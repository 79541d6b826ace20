import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { type EventLevel, LIMITS } from '@simscope/protocol';
import { type ConnectionOptions, resolveConfig } from './config.js';
import { HttpTransport, type RetryOptions } from './http-transport.js';
import { type EventSink, eventStream, type LogCaptureOptions } from './log-capture.js';

/** Options of the `@simscope/client/pino` transport. */
export interface PinoTransportOptions extends ConnectionOptions, LogCaptureOptions {
  /** The run (id or name) whose events the log lines become. */
  run: string;
  /** Longest wait before lines are sent, in ms (default 500). */
  flushIntervalMs?: number;
  retries?: Partial<RetryOptions>;
}

interface QueuedEvent {
  message: string;
  level: EventLevel;
  timestamp: number;
}

/**
 * A pino transport (it runs in pino's worker thread) that records log lines as events of a run. While pino ends
 * a transport it blocks the main thread, so the server must not run in the logging thread.
 * @example
 * const logger = pino({ transport: { target: '@simscope/client/pino', options: { run: run.id } } });
 */
export default function simscopeTransport(options: PinoTransportOptions): Writable {
  const transport = new HttpTransport({ ...resolveConfig(options), retries: options.retries });
  const writer = `pino-${randomBytes(6).toString('hex')}`;
  const queue: QueuedEvent[] = [];
  let seq = 0;
  let chain: Promise<void> = Promise.resolve();
  const send = () => {
    chain = chain.then(async () => {
      while (queue.length > 0) {
        const events = queue.splice(0, LIMITS.eventsPerBatch);
        try {
          await transport.call('ingestEvents', {
            params: { run: options.run },
            body: { writer, seq: seq++, events },
            idempotent: true,
          });
        } catch (error) {
          process.stderr.write(`simscope pino transport: ${(error as Error).message}\n`);
        }
      }
    });
    return chain;
  };
  const timer = setInterval(send, options.flushIntervalMs ?? 500);
  timer.unref();
  const sink: EventSink = {
    logEvent(message, event) {
      queue.push({ message, level: event.level, timestamp: event.timestamp ?? Date.now() * 1000 });
    },
  };
  const lines = eventStream(sink, options);
  return new Writable({
    write(chunk, encoding, done) {
      lines.write(chunk, encoding, done);
    },
    final(done) {
      clearInterval(timer);
      lines.end(() => {
        send().then(() => done(), done);
      });
    },
  });
}

import { Run } from './run.js';
import type { InitOptions, RunConfig } from './run-options.js';

/**
 * Runs `fn` with a new run and ends it `completed` when `fn` returns, `failed` when it throws (the stack is
 * logged as an event), and `terminated` on SIGINT or SIGTERM (then the signal takes its usual course).
 */
export async function withRun<T>(
  options: InitOptions & { config?: Partial<RunConfig> },
  fn: (run: Run) => Promise<T>,
): Promise<T> {
  const { config, ...init } = options;
  const run = await new Run().config(config ?? {}).init(init);
  const onSignal = (signal: NodeJS.Signals) => {
    run.close('terminated').finally(() => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.kill(process.pid, signal);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await fn(run);
    await run.close('completed');
    return result;
  } catch (error) {
    run.logEvent(error instanceof Error ? error : String(error), { level: 'error' });
    await run.close('failed');
    throw error;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

import { useCallback, useEffect, useState } from 'react';

/**
 * What `read` gives, read on mount and again on `retry()` or `reload()`; `error` holds the last failure.
 * `read` must keep its identity between renders (wrap it in `useCallback`).
 */
export function useLoaded<T>(read: () => Promise<T>) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const reload = useCallback(async () => {
    setError(null);
    try {
      setData(await read());
    } catch (err) {
      setError(err);
    }
  }, [read]);
  useEffect(() => {
    void reload();
  }, [reload, attempt]);
  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  return { data, error, setError, reload, retry };
}

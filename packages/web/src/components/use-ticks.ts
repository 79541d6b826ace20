import { useEffect, useState } from 'react';

/**
 * A count that goes up every `ms`: an effect that depends on it runs again that often, for what changes on the
 * server's schedule and reaches no live stream (alert states).
 */
export function useTicks(ms: number): number {
  const [ticks, setTicks] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTicks((t) => t + 1), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return ticks;
}

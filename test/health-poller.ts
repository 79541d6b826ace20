import { Worker } from 'node:worker_threads';

// In a thread of its own: a poller on the test's event loop could not see that loop stall while it waits.
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
let running = true;
const waits = [];
parentPort.on('message', () => (running = false));
(async () => {
  while (running) {
    const start = performance.now();
    try {
      const res = await fetch(workerData.url);
      await res.arrayBuffer();
    } catch {}
    waits.push(performance.now() - start);
    await new Promise((r) => setTimeout(r, workerData.everyMs));
  }
  parentPort.postMessage(waits);
})();
`;

/** What a `/health` poller saw: how many answers, and the longest wait for one, in ms. */
export interface HealthWaits {
  polls: number;
  maxMs: number;
}

/**
 * Polls `url` every `everyMs` from a worker thread until `stop()`, which resolves to the longest wait for an
 * answer: the time a client of a stalled server would wait.
 */
export function pollHealth(url: string, everyMs = 20): { stop(): Promise<HealthWaits> } {
  const worker = new Worker(POLLER, { eval: true, workerData: { url, everyMs } });
  const waits = new Promise<number[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    stop: async () => {
      worker.postMessage('stop');
      const all = await waits;
      await worker.terminate();
      return { polls: all.length, maxMs: Math.max(0, ...all) };
    },
  };
}

/** Resolves once the poller has had time to start and send its first requests. */
export const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

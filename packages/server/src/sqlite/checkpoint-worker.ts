import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

// Copies the WAL into the database file (with its fsyncs) off the server's event loop. PASSIVE never blocks the
// writer; the main connection keeps a large autocheckpoint as a backstop should this thread stop.
const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new Database(file);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or closing: the next tick tries again.
  }
}, intervalMs);
parentPort?.on('message', (message) => {
  if (message === 'stop') {
    clearInterval(timer);
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } finally {
      db.close();
      parentPort?.postMessage('stopped');
    }
  }
});

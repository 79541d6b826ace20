import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SimscopeError } from '@simscope/protocol';

// h5wasm writes synchronously (a 4096² float32 step is about 100 ms), so the file is written by the recorder's
// HDF5DataStore in a worker of its own and the event loop only passes it the steps. CommonJS in a string, as the
// SQLite checkpointer: no file to find next to the compiled or the test-run source.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
let file = null;
parentPort.on('message', async (message) => {
  try {
    if (message.kind === 'open') {
      const { HDF5DataStore } = await import(workerData.module);
      file = await HDF5DataStore.open(workerData.path, { mode: 'overwrite' });
    } else if (message.kind === 'record') {
      for (const [key, value] of message.records) await file.record(key, value);
    } else {
      await file?.close();
    }
    parentPort.postMessage({ ok: true });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
  }
});
`;

type Answer = { ok: true } | { ok: false; message: string };

/** An HDF5 file written in the recorder's layout by a worker thread, one batch of records at a time. */
export class Hdf5Writer {
  readonly #worker: Worker;
  #waiting: { resolve: () => void; reject: (error: Error) => void } | null = null;
  #failure: Error | null = null;

  private constructor(path: string, module: string) {
    this.#worker = new Worker(WORKER, { eval: true, workerData: { path, module } });
    this.#worker.on('message', (answer: Answer) => {
      const waiting = this.#waiting;
      this.#waiting = null;
      if (answer.ok) waiting?.resolve();
      else waiting?.reject(new Error(answer.message));
    });
    const fail = (error: Error) => {
      this.#failure ??= error;
      this.#waiting?.reject(error);
      this.#waiting = null;
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`the HDF5 writer stopped (exit code ${code})`)));
  }

  /** Creates (or truncates) the file at `path`. */
  static async open(path: string): Promise<Hdf5Writer> {
    let module: string;
    try {
      module = pathToFileURL(createRequire(import.meta.url).resolve('@simscope/recorder/hdf5')).href;
    } catch (cause) {
      throw new SimscopeError('unavailable', 'HDF5 export needs @simscope/recorder and h5wasm installed', {
        cause,
      });
    }
    const writer = new Hdf5Writer(path, module);
    await writer.#send({ kind: 'open' }, []);
    return writer;
  }

  /** Appends each value to the list under its key; the buffers in `transfer` move to the worker. */
  record(records: [string, unknown][], transfer: ArrayBuffer[]): Promise<void> {
    return this.#send({ kind: 'record', records }, transfer);
  }

  /** Writes out the file and ends the worker. */
  async close(): Promise<void> {
    try {
      if (!this.#failure) await this.#send({ kind: 'close' }, []);
    } finally {
      this.#worker.removeAllListeners('exit');
      await this.#worker.terminate();
    }
  }

  #send(message: object, transfer: ArrayBuffer[]): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#worker.postMessage(message, transfer);
    });
  }
}

// Artifact benchmarks: a 1 GiB file up and down through the client, the server and its local blob store, and
// 10,000 small files saved from a directory.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockFileWriter } from '../packages/block-io/dist/index.js';
import { Client, Run } from '../packages/client/dist/index.js';
import { BENCH_TOKEN, startServer } from './server-process.js';

const GIB = 1024 ** 3;
const SMALL_FILES = 10_000;

/** Writes `bytes` of random-looking data, 8 MiB at a time; each block differs so no two runs share content. */
function writeFile(path, bytes) {
  const block = randomBytes(8 * 1024 * 1024);
  const fd = openSync(path, 'w');
  try {
    for (let at = 0, i = 0; at < bytes; at += block.length, i++) {
      block.writeUInt32LE(i, 0);
      writeSync(fd, block, 0, Math.min(block.length, bytes - at));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Bare HTTP on loopback between two processes: a child sends 1 GiB from memory and this process reads it with
 * node:http (as the client does) and drops it. No disk, no hash: the ceiling of any transfer on this machine.
 */
async function bareHttp() {
  const source = `
    const block = Buffer.alloc(1 << 20, 7);
    require('node:http').createServer(async (req, res) => {
      res.writeHead(200, { 'content-length': String(${GIB}) });
      for (let i = 0; i < 1024; i++) if (!res.write(block)) await new Promise((r) => res.once('drain', r));
      res.end();
    }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise((resolve, reject) => {
      child.stdout.once('data', (data) => resolve(Number(String(data).trim())));
      child.once('exit', (code) => reject(new Error(`the HTTP baseline server exited with ${code}`)));
    });
    const t0 = performance.now();
    const res = await new Promise((resolve, reject) =>
      get(`http://127.0.0.1:${port}/`, resolve).once('error', reject),
    );
    let bytes = 0;
    for await (const chunk of res) bytes += chunk.length;
    if (bytes !== GIB) throw new Error(`the HTTP baseline received ${bytes} bytes`);
    return GIB / 1e6 / ((performance.now() - t0) / 1000);
  } finally {
    child.kill();
  }
}

/** Writes `bytes` through a block writer (O_DIRECT where it can); resolves to the milliseconds taken. */
async function writeDirect(path, bytes) {
  const block = randomBytes(8 * 1024 * 1024);
  const t0 = performance.now();
  const writer = await BlockFileWriter.open(path);
  // The same bytes each time: the writer keeps a chunk until written, and this one never changes.
  for (let at = 0; at < bytes; at += block.length) await writer.write(block);
  await writer.close();
  return performance.now() - t0;
}

/** Writes back what the file systems hold in memory (the `sync` command), where there is one. */
function flushDisks() {
  try {
    execFileSync('sync', { stdio: 'ignore', timeout: 60_000 });
  } catch {
    // no sync command: measure as things are
  }
}

export async function run({ log }) {
  const results = {};
  const put = (name, value, unit) => {
    results[name] = { value: Number(value.toPrecision(4)), unit };
  };
  const dir = mkdtempSync(join(tmpdir(), 'simscope-bench-artifacts-'));
  try {
    // The source file, its blob and the downloaded copy, plus room to spare.
    const need = 3 * GIB + 512 * 1024 * 1024;
    const { bavail, bsize } = statfsSync(dir);
    if (bavail * bsize < need) {
      log(
        `  skipped: ${((bavail * bsize) / GIB).toFixed(1)} GiB free in ${tmpdir()}, ${(need / GIB).toFixed(1)} GiB needed`,
      );
      return results;
    }
    const server = await startServer({ dataDir: join(dir, 'server') });
    try {
      const config = { url: server.url, token: BENCH_TOKEN, systemInfo: false, suppressErrors: false };
      const client = new Client({ url: server.url, token: BENCH_TOKEN });
      const big = join(dir, 'big.bin');
      // Earlier benchmarks leave gigabytes for the kernel to write back, which would slow every write here.
      flushDisks();
      // Baselines in this run: writing 1 GiB here through the page cache and past it (as the blob store and a
      // download do), and hashing it (each end of a transfer hashes it once).
      let t0 = performance.now();
      writeFile(big, GIB);
      const diskWrite = GIB / 1e6 / ((performance.now() - t0) / 1000);
      const directWrite = GIB / 1e6 / ((await writeDirect(join(dir, 'direct.bin'), GIB)) / 1000);
      rmSync(join(dir, 'direct.bin'));
      const http = await bareHttp();
      // The source file settles on disk first: its writeback is no part of the upload.
      flushDisks();
      t0 = performance.now();
      const hash = createHash('sha256');
      const chunk = randomBytes(8 * 1024 * 1024);
      for (let at = 0; at < GIB; at += chunk.length) hash.update(chunk);
      hash.digest();
      const sha256 = GIB / 1e6 / ((performance.now() - t0) / 1000);
      log(
        `  baselines: write 1 GiB to this disk ${diskWrite.toFixed(0)} MB/s (through the page cache), ${directWrite.toFixed(0)} MB/s (O_DIRECT); sha256 of 1 GiB ${sha256.toFixed(0)} MB/s; 1 GiB over bare HTTP on loopback ${http.toFixed(0)} MB/s`,
      );
      put('artifacts.baseline_http.mb_per_s', http, 'MB/s');
      put('artifacts.baseline_disk_write.mb_per_s', diskWrite, 'MB/s');
      put('artifacts.baseline_direct_write.mb_per_s', directWrite, 'MB/s');
      put('artifacts.baseline_sha256.mb_per_s', sha256, 'MB/s');

      const run = await new Run().config(config).init({ name: `artifacts-${Date.now()}` });
      t0 = performance.now();
      const saved = await run.save(big, 'output');
      const upload = GIB / 1e6 / ((performance.now() - t0) / 1000);
      if (saved?.size !== GIB) throw new Error(`saved ${saved?.size} bytes`);
      log(
        `  upload 1 GiB (client hashes, streams; server hashes, writes the blob): ${upload.toFixed(0)} MB/s (${(upload / http).toFixed(2)} × bare HTTP)`,
      );
      put('artifacts.upload_1g.mb_per_s', upload, 'MB/s');

      t0 = performance.now();
      await client.getArtifactAsFile(run.name, 'big.bin', { path: join(dir, 'down') });
      const download = GIB / 1e6 / ((performance.now() - t0) / 1000);
      log(
        `  download 1 GiB (server reads the blob; client writes and checks the sha256): ${download.toFixed(0)} MB/s (${(download / http).toFixed(2)} × bare HTTP)`,
      );
      put('artifacts.download_1g.mb_per_s', download, 'MB/s');
      rmSync(big);
      rmSync(join(dir, 'down'), { recursive: true });
      flushDisks();

      const small = join(dir, 'small');
      mkdirSync(small);
      for (let i = 0; i < SMALL_FILES; i++) {
        const fd = openSync(join(small, `f${String(i).padStart(5, '0')}.dat`), 'w');
        writeSync(fd, randomBytes(1024));
        closeSync(fd);
      }
      t0 = performance.now();
      const many = await run.saveDirectory(small, 'output', { concurrency: 8 });
      const filesPerS = SMALL_FILES / ((performance.now() - t0) / 1000);
      if (many.length !== SMALL_FILES) throw new Error(`saved ${many.length} files`);
      log(`  10,000 files of 1 KiB from one directory, 8 at a time: ${filesPerS.toFixed(0)} files/s`);
      put('artifacts.small_10k.files_per_s', filesPerS, 'files/s');
      await run.close();
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

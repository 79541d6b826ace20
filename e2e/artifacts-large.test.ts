import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statfsSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SIZE = 2 * 1024 ** 3;
const MIB = 1024 * 1024;
// The source file, the server's blob and the downloaded copy, with room to spare.
const NEEDED = 3 * SIZE + 512 * MIB;
const free = (() => {
  const { bavail, bsize } = statfsSync(tmpdir());
  return bavail * bsize;
})();
if (free < NEEDED) {
  console.warn(
    `artifacts-large: skipped, ${(free / 1024 ** 3).toFixed(1)} GiB free in ${tmpdir()} and ${(NEEDED / 1024 ** 3).toFixed(1)} GiB needed`,
  );
}

/** Peak resident memory of a process, in MiB (VmHWM). */
function peakRssMiB(pid: number | 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

// The client runs in a process of its own, so its peak memory is that of the transfer alone.
const CLIENT_SCRIPT = `
import { readFileSync } from 'node:fs';
import { Client, Run } from ${JSON.stringify(join(ROOT, 'packages/client/dist/index.js'))};
const [url, token, file, out] = process.argv.slice(1);
const config = { url, token, systemInfo: false, suppressErrors: false };
const run = await new Run().config(config).init({ name: 'two-gigabytes' });
let t0 = performance.now();
const saved = await run.save(file, 'output');
const uploadS = (performance.now() - t0) / 1000;
await run.close();
t0 = performance.now();
const path = await new Client({ url, token }).getArtifactAsFile('two-gigabytes', 'big.bin', { path: out });
const downloadS = (performance.now() - t0) / 1000;
const peak = Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
console.log(JSON.stringify({ saved, path, uploadS, downloadS, peakRssMiB: peak }));
`;

describe.skipIf(free < NEEDED)('a 2 GiB artifact', () => {
  let dir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    buildServer();
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-b', 'packages/client/tsconfig.json'], {
      cwd: ROOT,
    });
    dir = mkdtempSync(join(tmpdir(), 'simscope-large-'));
    server = await ServerProcess.start({ home: join(dir, 'home') });
  });
  afterAll(async () => {
    if (server?.running) {
      server.kill();
      await server.waitForExit();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('goes up and comes back byte for byte with client and server memory flat', async () => {
    // Generated as a stream of 8 MiB blocks, hashed on the way: never whole in memory.
    const file = join(dir, 'big.bin');
    const block = randomBytes(8 * MIB);
    const hash = createHash('sha256');
    const fd = openSync(file, 'w');
    for (let i = 0; i < SIZE / block.length; i++) {
      block.writeUInt32LE(i, 0);
      hash.update(block);
      writeSync(fd, block);
    }
    closeSync(fd);
    const sha256 = hash.digest('hex');
    const serverBefore = peakRssMiB(server.pid);

    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', CLIENT_SCRIPT, server.url, E2E_TOKEN, file, join(dir, 'down')],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    const result = JSON.parse(out.trim().split('\n').at(-1)!);
    const serverPeak = peakRssMiB(server.pid);
    console.log(
      `2 GiB artifact: upload ${(SIZE / 1e6 / result.uploadS).toFixed(0)} MB/s, download ${(SIZE / 1e6 / result.downloadS).toFixed(0)} MB/s; ` +
        `peak RSS client ${result.peakRssMiB.toFixed(0)} MiB, server ${serverPeak.toFixed(0)} MiB (${serverBefore.toFixed(0)} MiB before)`,
    );
    expect(result.saved).toMatchObject({ name: 'big.bin', size: SIZE, sha256 });
    const back = createHash('sha256');
    const input = openSync(result.path, 'r');
    const buffer = Buffer.allocUnsafe(8 * MIB);
    for (;;) {
      const n = readSync(input, buffer, 0, buffer.length, null);
      if (n === 0) break;
      back.update(buffer.subarray(0, n));
    }
    closeSync(input);
    expect(back.digest('hex')).toBe(sha256);
    // Flat: a few MiB of buffers on top of a Node process, nowhere near the 2 GiB that passed through.
    expect(result.peakRssMiB).toBeLessThan(256);
    expect(serverPeak).toBeLessThan(256);
  }, 600_000);
});

#!/usr/bin/env node
import { main } from './cli.js';
import type { CliContext } from './context.js';

const ctx: CliContext = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: { ...process.env },
  cwd: process.cwd(),
};
const code = await main(process.argv.slice(2), ctx);
if (ctx.exitSignal) {
  // Die of the same signal as the program, so that a calling shell sees the same thing.
  process.removeAllListeners(ctx.exitSignal);
  process.kill(process.pid, ctx.exitSignal);
}
process.exitCode = code;

import { FORWARDED_SIGNALS } from './forwarded-signals.js';

/**
 * What runs inside the pseudo-terminal that `script` opens (as `node -e`, so that no file path has to be
 * found): it starts the program with the terminal as its stdout, fd 3 as its stdin and fd 4 as its stderr,
 * and reports the program's pid and its exact exit (code or signal) on fd 5 as JSON lines, which `script -e`
 * alone cannot tell apart (it turns a signal into 128 + n). The sidecar signals this process's group, the
 * program included, so this process ignores those signals and stays to report the exit.
 */
export const PTY_CHILD_SOURCE = `
const { spawn } = require('node:child_process');
const { writeSync } = require('node:fs');
const report = (message) => writeSync(5, JSON.stringify(message) + '\\n');
const spec = JSON.parse(process.env.SIMSCOPE_SIDECAR_SPEC || 'null');
delete process.env.SIMSCOPE_SIDECAR_SPEC;
if (!spec || spec.argv.length === 0) {
  report({ error: 'EINVAL', message: 'no command given' });
  process.exit(127);
}
if (spec.shell === null) delete process.env.SHELL;
else process.env.SHELL = spec.shell;
for (const signal of ${JSON.stringify(FORWARDED_SIGNALS)}) process.on(signal, () => {});
const child = spawn(spec.argv[0], spec.argv.slice(1), { stdio: [3, 'inherit', 4], env: process.env });
child.once('spawn', () => report({ pid: child.pid, pgid: process.pid }));
child.once('error', (error) => {
  report({ error: error.code || 'ERROR', message: error.message });
  process.exit(127);
});
child.once('exit', (code, signal) => {
  report({ code, signal });
  process.exit(0);
});
`;

// Runs inside the pseudo-terminal that `script` opens: starts the program with the terminal as its stdout,
// fd 3 as its stdin and fd 4 as its stderr, and reports its pid and exact exit (code or signal) on fd 5 as
// JSON lines, which `script -e` alone cannot tell apart (it turns a signal into 128 + n).
import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { FORWARDED_SIGNALS } from './forwarded-signals.js';

const REPORT_FD = 5;
const report = (message: object) => writeSync(REPORT_FD, `${JSON.stringify(message)}\n`);

const spec = JSON.parse(process.env.SIMSCOPE_SIDECAR_SPEC ?? 'null') as {
  argv: string[];
  shell: string | null;
} | null;
delete process.env.SIMSCOPE_SIDECAR_SPEC;
if (!spec || spec.argv.length === 0) {
  report({ error: 'EINVAL', message: 'no command given' });
  process.exit(127);
}
if (spec.shell === null) delete process.env.SHELL;
else process.env.SHELL = spec.shell;

// The sidecar signals this process group, the program included; this process stays to report the exit.
for (const signal of FORWARDED_SIGNALS) process.on(signal, () => {});

const child = spawn(spec.argv[0]!, spec.argv.slice(1), { stdio: [3, 'inherit', 4], env: process.env });
child.once('spawn', () => report({ pid: child.pid, pgid: process.pid }));
child.once('error', (error: NodeJS.ErrnoException) => {
  report({ error: error.code ?? 'ERROR', message: error.message });
  process.exit(127);
});
child.once('exit', (code, signal) => {
  report({ code, signal });
  process.exit(0);
});

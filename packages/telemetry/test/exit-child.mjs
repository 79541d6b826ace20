// A process that tracks calls and ends right after: naturally, by process.exit(), or by an uncaught error.
// argv: url key calls mode; prints "called <ms since start>" once the calls are made.
import { Telemetry, track } from '../dist/index.js';

const [url, key, calls, mode] = process.argv.slice(2);
const telemetry = new Telemetry({
  env: {},
  configFile: '/nonexistent/simscope.toml',
  flushIntervalMs: 60_000,
  exitTimeoutMs: Number(process.env.EXIT_TIMEOUT_MS ?? 1000),
});
telemetry.addService('exit/test');
telemetry.setDestination('exit/test', { url, key });
const work = track(
  'exit_test',
  function work(i) {
    return i * 2;
  },
  { telemetry },
);
let sum = 0;
for (let i = 0; i < Number(calls); i++) sum += work(i);
process.stdout.write(`called ${sum}\n`);
if (mode === 'exit') process.exit(0);
if (mode === 'throw') throw new Error('the simulation broke');

// `npm run bench`: runs every benchmark module, prints the figures and writes bench/results.json.
import { existsSync, writeFileSync } from 'node:fs';

const modules = [
  './server-bench.js',
  './client-bench.js',
  './query-bench.js',
  './recorder-bench.js',
  './alerts-bench.js',
  './cli-bench.js',
  './telemetry-bench.js',
  './artifacts-bench.js',
  './hardening-bench.js',
  './web-bench.js',
  './python-bench.js',
  './scale-bench.js',
  './mlflow-bench.js',
  './fields-bench.js',
];
const only = process.argv.slice(2);
const log = (line) => process.stdout.write(`${line}\n`);
const results = {};

for (const name of modules) {
  if (!existsSync(new URL(name, import.meta.url))) continue;
  if (only.length > 0 && !only.some((o) => name.includes(o))) continue;
  log(`\n== ${name.replace(/^\.\/|-bench\.js$/g, '')}`);
  const mod = await import(name);
  Object.assign(results, await mod.run({ log }));
}

log('\n== results');
const width = Math.max(...Object.keys(results).map((k) => k.length));
for (const [name, { value, unit }] of Object.entries(results)) {
  log(`${name.padEnd(width)}  ${String(value).padStart(12)} ${unit}`);
}
writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
log('\nwritten to bench/results.json');

import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Builds the package (incremental `tsc -b`) so child processes can import its `dist/`; returns dist's URL. */
export function buildDist(): string {
  const tsc = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url));
  execFileSync(process.execPath, [tsc, '-b', `${packageDir}tsconfig.json`], { stdio: 'pipe' });
  return pathToFileURL(`${packageDir}dist/`).href;
}

/** Runs a program and returns its stdout; throws with stderr when it fails. */
export function run(command: string, args: string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', input, timeout: 60_000 });
  if (result.error)
    throw new Error(`cannot run ${command}: ${result.error.message}`, { cause: result.error });
  if (result.status !== 0) throw new Error(`${command} exited with ${result.status}:\n${result.stderr}`);
  return result.stdout;
}

/** Debian's python3 with h5py (package python3-h5py); a pyenv python3 first on PATH usually lacks it. */
export function pythonWithH5py(): string {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(candidate, ['-c', 'import h5py'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
  }
  throw new Error('no python3 with h5py found: apt-get install python3-h5py');
}

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';
import { cliSuite } from './cli-suite.js';
import { E2E_TOKEN } from './server-process.js';

// Prints progress in the line protocol and in its own format, warns on stderr, appends to a CSV history,
// writes an output file, then ends as its first argument says.
const SIMULATION = `#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "ok";
  FILE *history = fopen("history.csv", "w");
  fprintf(history, "step,temperature\\n");
  fflush(history);
  for (int i = 0; i < 5; i++) {
    printf("@simscope step=%d energy=%.1f residual=%g\\n", i, (double)(-i), 1.0 / (1 << i));
    printf("iteration %d: cfl=%.2f\\n", 10 * i, 0.1 * (i + 1));
    if (i == 2) fprintf(stderr, "warning: small time step at %d\\n", i);
    fprintf(history, "%d,%.1f\\n", i, 300.0 + i);
    fflush(history);
    usleep(150000);
  }
  fclose(history);
  FILE *out = fopen("result.dat", "w");
  fprintf(out, "final energy -4.0\\n");
  fclose(out);
  if (strcmp(mode, "fail") == 0) {
    fprintf(stderr, "diverged\\n");
    return 3;
  }
  if (strcmp(mode, "term") == 0) raise(SIGTERM);
  if (strcmp(mode, "wait") == 0) {
    printf("waiting\\n");
    pause();
  }
  printf("done\\n");
  return 0;
}
`;

const RESOURCE_NAMES = [
  'resources/cpu.percent',
  'resources/cpu.seconds',
  'resources/memory.percent',
  'resources/memory.rss_mib',
  'resources/processes',
  'resources/threads',
];

describe('simscope run against a server process', () => {
  const suite = cliSuite('cli', {
    prepare(work) {
      writeFileSync(join(work, 'sim.c'), SIMULATION);
      execFileSync('gcc', ['-O1', '-o', join(work, 'sim'), join(work, 'sim.c')]);
    },
  });

  it('records the events, metrics, resource use and status of a C program exactly', async () => {
    const result = await runCli(
      [
        'run',
        '--name',
        'sim-ok',
        '--folder',
        '/tests/c',
        '--tag',
        'c',
        '--tag',
        'e2e',
        '--metadata',
        're=100',
        '--metadata',
        'solver=piso',
        '--metadata',
        'steady=false',
        '--description',
        'a C program',
        '--metrics-regex',
        'iteration (?P<step>\\d+): cfl=(?P<cfl>\\S+)',
        '--metrics-file',
        'history.csv',
        '--resources-interval',
        '0.2',
        '--save-code',
        '*.c',
        '--save-output',
        'result.dat',
        '--',
        './sim',
        'ok',
      ],
      suite.cli,
    );
    const lines = [0, 1, 2, 3, 4].flatMap((i) => [
      `@simscope step=${i} energy=${(-i).toFixed(1)} residual=${1 / 2 ** i}`,
      `iteration ${10 * i}: cfl=${(0.1 * (i + 1)).toFixed(2)}`,
    ]);
    expect(result).toMatchObject({ code: 0, signal: null, stderr: 'warning: small time step at 2\n' });
    expect(result.stdout).toBe(`${[...lines, 'done'].join('\n')}\n`);
    expect(readFileSync(join(suite.work, 'result.dat'), 'utf8')).toBe('final energy -4.0\n');

    const run = await suite.client.getRun('sim-ok');
    expect(run).toMatchObject({
      status: 'completed',
      folder: '/tests/c',
      tags: ['c', 'e2e'],
      metadata: { re: 100, solver: 'piso', steady: false },
      description: 'a C program',
    });
    expect(run.ended).not.toBeNull();

    const events = await suite.client.getEvents('sim-ok');
    const info = events.filter((e) => e.level === 'info').map((e) => e.message);
    expect(info).toEqual([...lines, 'done', 'simscope: ./sim exited with code 0']);
    expect(events.filter((e) => e.level !== 'info').map((e) => [e.level, e.message])).toEqual([
      ['error', 'warning: small time step at 2'],
    ]);

    const names = (await suite.client.getMetricNames('sim-ok')).map((m) => m.name);
    expect(names).toEqual(['cfl', 'energy', 'residual', ...RESOURCE_NAMES, 'temperature']);
    const series = async (name: string) => {
      const [s] = await suite.client.getMetricValues('sim-ok', name);
      return { steps: Array.from(s!.x), values: Array.from(s!.values) };
    };
    expect(await series('energy')).toEqual({ steps: [0, 1, 2, 3, 4], values: [0, -1, -2, -3, -4] });
    expect(await series('residual')).toEqual({
      steps: [0, 1, 2, 3, 4],
      values: [1, 0.5, 0.25, 0.125, 0.0625],
    });
    expect(await series('cfl')).toEqual({ steps: [0, 10, 20, 30, 40], values: [0.1, 0.2, 0.3, 0.4, 0.5] });
    expect(await series('temperature')).toEqual({
      steps: [0, 1, 2, 3, 4],
      values: [300, 301, 302, 303, 304],
    });

    const saved = await suite.client.listArtifacts('sim-ok');
    expect(saved.map((a) => [a.name, a.category, a.size])).toEqual([
      ['result.dat', 'output', 18],
      ['sim.c', 'code', SIMULATION.length],
    ]);
    const out = join(suite.work, 'downloaded');
    const got = await runCli(['artifacts', 'get', 'sim-ok', '--category', 'output', '--out', out], suite.cli);
    expect(got).toMatchObject({ code: 0, stdout: `${join(out, 'result.dat')}\n` });
    expect(readFileSync(join(out, 'result.dat'), 'utf8')).toBe('final energy -4.0\n');
    const listed = await runCli(['artifacts', 'list', 'sim-ok', '--format', 'csv'], suite.cli);
    expect(listed.stdout.split('\n').map((l) => l.split(',').slice(0, 2).join(','))).toEqual([
      'name,category',
      'result.dat,output',
      'sim.c,code',
      '',
    ]);

    // About 0.75 s of running sampled every 0.2 s; on a loaded machine, at least two samples.
    const processes = await series('resources/processes');
    expect(processes.values.length).toBeGreaterThanOrEqual(2);
    expect(new Set(processes.values)).toEqual(new Set([1]));
    const memory = await series('resources/memory.rss_mib');
    expect(Math.min(...memory.values)).toBeGreaterThan(0);
    expect(Math.max(...memory.values)).toBeLessThan(100);
    const cpu = await series('resources/cpu.percent');
    expect(cpu.values.length).toBe(processes.values.length - 1);
    expect(Math.max(...cpu.values)).toBeLessThan(50);
  });

  it('ends the run failed, and exits 3, when the program exits 3', async () => {
    const result = await runCli(
      ['run', '--name', 'sim-fail', '--resources-interval', '0', '--', './sim', 'fail'],
      suite.cli,
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('warning: small time step at 2\ndiverged\n');
    const run = await suite.client.getRun('sim-fail');
    expect(run.status).toBe('failed');
    // The system info is the sidecar's (node, its pid); the program it ran is recorded beside it.
    const command = run.system.command as Record<string, unknown>;
    expect(command).toEqual({
      argv: ['./sim', 'fail'],
      cwd: suite.work,
      pid: expect.any(Number),
      exitCode: 3,
      signal: null,
      seconds: expect.any(Number),
    });
    expect(command.pid).not.toBe(run.system.pid);
    expect(command.seconds).toBeGreaterThanOrEqual(0.75);
    expect(command.seconds).toBeLessThan(10);
    expect((run.system.runtime as { name: string }).name).toBe('node');
    const errors = (await suite.client.getEvents('sim-fail', { level: ['error'] })).map((e) => e.message);
    expect(errors).toEqual([
      'warning: small time step at 2',
      'diverged',
      'simscope: ./sim exited with code 3',
    ]);
  });

  it('ends the run terminated, and dies of the same signal, when the program is killed by SIGTERM', async () => {
    const result = await runCli(['run', '--name', 'sim-term', '--', './sim', 'term'], suite.cli);
    expect(result).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect((await suite.client.getRun('sim-term')).status).toBe('terminated');
    const errors = await suite.client.getEvents('sim-term', { level: ['error'] });
    expect(errors.at(-1)!.message).toBe('simscope: ./sim killed by SIGTERM');
  });

  it('passes a SIGTERM sent to the sidecar on to the program', async () => {
    let seen = '';
    const result = await runCli(['run', '--name', 'sim-wait', '--', './sim', 'wait'], {
      ...suite.cli,
      onStdout: (chunk, child) => {
        seen += chunk;
        if (seen.endsWith('waiting\n')) child.kill('SIGTERM');
      },
    });
    expect(result).toMatchObject({ signal: 'SIGTERM' });
    expect(result.stdout.endsWith('waiting\n')).toBe(true);
    expect((await suite.client.getRun('sim-wait')).status).toBe('terminated');
    const errors = await suite.client.getEvents('sim-wait', { level: ['error'] });
    expect(errors.at(-1)!.message).toBe('simscope: ./sim killed by SIGTERM');
  });

  it('stops the program with SIGTERM when someone asks the run to abort', async () => {
    const result = await runCli(
      ['run', '--name', 'sim-abort', '--heartbeat-interval', '0.2', '--', './sim', 'wait'],
      {
        ...suite.cli,
        onStdout: (chunk) => {
          if (chunk.includes('waiting')) {
            void fetch(`${suite.server.url}/api/v1/runs/sim-abort/abort`, {
              method: 'POST',
              headers: { authorization: `Bearer ${E2E_TOKEN}`, 'content-type': 'application/json' },
              body: JSON.stringify({ reason: 'diverging' }),
            });
          }
        },
      },
    );
    expect(result).toMatchObject({ signal: 'SIGTERM' });
    expect((await suite.client.getRun('sim-abort')).status).toBe('terminated');
    const warnings = await suite.client.getEvents('sim-abort', { level: ['warning'] });
    expect(warnings.map((e) => e.message)).toEqual(['simscope: abort requested: diverging; sending SIGTERM']);
  });

  it('gives the program its stdin, and an unknown program exits 127', async () => {
    const echo = await runCli(['run', '--name', 'stdin', '--', 'sh', '-c', 'read a; read b; echo "$b $a"'], {
      ...suite.cli,
      input: 'one\ntwo\n',
    });
    expect(echo).toMatchObject({ code: 0, stdout: 'two one\n' });
    const missing = await runCli(['run', '--name', 'missing', '--', './no-such-program'], suite.cli);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/^simscope: \.\/no-such-program: .*ENOENT/);
    expect((await suite.client.getRun('missing')).status).toBe('failed');
  });

  it('refuses a bad pattern before starting anything, with exit code 2', async () => {
    const result = await runCli(['run', '--metrics-regex', '(\\d+)', '--', './sim'], suite.cli);
    expect(result).toMatchObject({
      code: 2,
      stdout: '',
      stderr:
        "simscope: --metrics-regex '(\\d+)': needs a named group for a metric, like (?<energy>\\S+) or (?P<energy>\\S+)\n",
    });
  });
});

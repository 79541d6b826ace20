import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { EventLevel } from '@simscope/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLineMode, shellQuote } from './child-launcher.js';
import { endStatus, Sidecar, type SidecarLog, type SidecarOptions } from './sidecar.js';

/** Keeps what the sidecar records, with the time each line came. */
class RecordingLog implements SidecarLog {
  readonly events: { message: string; level: EventLevel | undefined; at: number }[] = [];
  readonly metrics: { values: Record<string, number>; step: number | undefined }[] = [];

  logMetrics(values: Record<string, number>, options?: { step?: number }): void {
    this.metrics.push({ values, step: options?.step });
  }

  logEvent(message: string, options?: { level?: EventLevel }): void {
    this.events.push({ message, level: options?.level, at: performance.now() });
  }
}

const dir = mkdtempSync(join(tmpdir(), 'simscope-sidecar-'));
let slowPrinter: string;

beforeAll(() => {
  // Prints with stdio's default buffering: a block at a time into a pipe, a line at a time onto a terminal.
  writeFileSync(
    join(dir, 'slow.c'),
    `#include <stdio.h>
#include <unistd.h>
int main(void) {
  printf("first\\n");
  usleep(400000);
  printf("second\\n");
  fprintf(stderr, "to stderr\\n");
  return 0;
}
`,
  );
  slowPrinter = join(dir, 'slow');
  execFileSync('gcc', ['-O1', '-o', slowPrinter, join(dir, 'slow.c')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function sidecar(argv: string[], options: Partial<SidecarOptions> = {}) {
  const log = new RecordingLog();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const shown = { stdout: '', stderr: '' };
  stdout.setEncoding('utf8').on('data', (c: string) => (shown.stdout += c));
  stderr.setEncoding('utf8').on('data', (c: string) => (shown.stderr += c));
  const warnings: string[] = [];
  const result = await new Sidecar(log, {
    argv,
    env: process.env,
    lineMode: 'auto',
    metricPatterns: [],
    metricsFiles: [],
    metricsFileIntervalMs: 100,
    resourcesIntervalMs: 0,
    stdout,
    stderr,
    warn: (m) => warnings.push(m),
    ...options,
  }).run();
  return { log, result, shown, warnings };
}

describe('line modes', () => {
  it('auto is the pseudo-terminal on this machine (util-linux script is present)', () => {
    expect(resolveLineMode('auto')).toBe('pty');
  });

  for (const mode of ['pty', 'stdbuf'] as const) {
    it(`${mode}: lines of a C program arrive as it prints them`, async () => {
      const { log, result, shown } = await sidecar([slowPrinter], { lineMode: mode });
      expect(result).toMatchObject({ status: 'completed', exitCode: 0, lines: { stdout: 2, stderr: 1 } });
      expect(shown.stdout).toBe('first\nsecond\n');
      expect(shown.stderr).toBe('to stderr\n');
      const first = log.events.find((e) => e.message === 'first')!;
      const second = log.events.find((e) => e.message === 'second')!;
      expect(second.at - first.at).toBeGreaterThan(300);
      expect(log.events.find((e) => e.message === 'to stderr')?.level).toBe('error');
    });
  }

  it('pipe: the same program buffers, so both lines come together at its exit', async () => {
    const { log } = await sidecar([slowPrinter], { lineMode: 'pipe' });
    const first = log.events.find((e) => e.message === 'first')!;
    const second = log.events.find((e) => e.message === 'second')!;
    expect(second.at - first.at).toBeLessThan(100);
  });

  it('pty: stdout is a terminal, stderr is not, and bytes pass unchanged', async () => {
    const { shown, log } = await sidecar(
      ['sh', '-c', 'test -t 1 && echo tty1; test -t 2 || echo notty2 >&2; printf "a\\tb\\r\\nc"'],
      { lineMode: 'pty' },
    );
    expect(shown.stdout).toBe('tty1\na\tb\r\nc');
    expect(shown.stderr).toBe('notty2\n');
    expect(log.events.map((e) => [e.message, e.level])).toEqual(
      expect.arrayContaining([
        ['tty1', 'info'],
        ['notty2', 'error'],
        ['a\tb', 'info'],
        ['c', 'info'],
      ]),
    );
  });

  it('passes arguments with spaces and quotes unchanged, and SHELL as it was', async () => {
    const arg = `it's "quoted" $HOME`;
    for (const lineMode of ['pty', 'pipe'] as const) {
      const { shown } = await sidecar(['sh', '-c', 'printf "%s|%s\\n" "$1" "$SHELL"', 'sh', arg], {
        lineMode,
        env: { ...process.env, SHELL: '/bin/zsh-test' },
      });
      expect(shown.stdout).toBe(`${arg}|/bin/zsh-test\n`);
    }
    expect(shellQuote(arg)).toBe(`'it'\\''s "quoted" $HOME'`);
  });
});

describe('exit', () => {
  for (const lineMode of ['pty', 'pipe'] as const) {
    it(`${lineMode}: a code, a signal and a missing program`, async () => {
      expect((await sidecar(['sh', '-c', 'exit 3'], { lineMode })).result).toMatchObject({
        status: 'failed',
        exitCode: 3,
        exit: { code: 3, signal: null },
      });
      expect((await sidecar(['sh', '-c', 'kill -TERM $$'], { lineMode })).result).toMatchObject({
        status: 'terminated',
        exitCode: 143,
        exit: { code: null, signal: 'SIGTERM' },
      });
      const missing = (await sidecar(['/no/such/program'], { lineMode })).result;
      expect(missing).toMatchObject({ status: 'failed', exitCode: 127 });
      expect(missing.exit.error).toContain('ENOENT');
    });

    it(`${lineMode}: the program's own pid and how long it ran`, async () => {
      const { result, shown } = await sidecar(['sh', '-c', 'echo $$; sleep 0.4'], { lineMode });
      expect(shown.stdout.replace('\r', '')).toBe(`${result.pid}\n`);
      expect(result.pid).not.toBe(process.pid);
      expect(result.seconds).toBeGreaterThanOrEqual(0.4);
      expect(result.seconds).toBeLessThan(3);
      const missing = (await sidecar(['/no/such/program'], { lineMode })).result;
      expect(missing.pid).toBeUndefined();
    });

    it(`${lineMode}: a signal to the sidecar reaches the program and its children`, async () => {
      const log = new RecordingLog();
      const out = new PassThrough().resume();
      const car = new Sidecar(log, {
        argv: ['sh', '-c', 'sleep 30 & echo started; wait'],
        env: process.env,
        lineMode,
        metricPatterns: [],
        metricsFiles: [],
        metricsFileIntervalMs: 100,
        resourcesIntervalMs: 0,
        stdout: out,
        stderr: out,
        warn: () => {},
      });
      const running = car.run();
      while (!log.events.some((e) => e.message === 'started')) await new Promise((r) => setTimeout(r, 20));
      const started = performance.now();
      process.emit('SIGTERM', 'SIGTERM');
      const result = await running;
      expect(result).toMatchObject({ status: 'terminated', exitCode: 143, forwarded: ['SIGTERM'] });
      expect(performance.now() - started).toBeLessThan(2000);
    });
  }

  it('counts a 128 + n exit as that signal only when the sidecar passed n on', () => {
    expect(endStatus({ code: 130, signal: null }, ['SIGINT'])).toBe('terminated');
    expect(endStatus({ code: 130, signal: null }, [])).toBe('failed');
    expect(endStatus({ code: 0, signal: null }, ['SIGTERM'])).toBe('completed');
    expect(endStatus({ code: null, signal: 'SIGKILL' }, [])).toBe('terminated');
  });
});

describe('metrics', () => {
  it('from protocol lines, patterns and a metrics file, with a warning once per bad name', async () => {
    const file = join(dir, 'history.csv');
    const { log, warnings } = await sidecar(
      [
        'sh',
        '-c',
        `echo "@simscope step=1 energy=-3.2 residual=1e-6"
         echo "it 2 cfl=0.45"
         echo "@simscope energy=oops" >&2
         echo "@simscope energy=bad"
         printf 'step,T\\n7,300.5\\n' > ${shellQuote(file)}
         sleep 0.3
         printf '8,301\\n' >> ${shellQuote(file)}`,
      ],
      { metricPatterns: [/it (?<step>\d+) cfl=(?<cfl>\S+)/], metricsFiles: [file] },
    );
    // Output lines and the file are read by different watchers: under load either may come first.
    expect([...log.metrics].sort((a, b) => (a.step ?? 0) - (b.step ?? 0))).toEqual([
      { values: { energy: -3.2, residual: 1e-6 }, step: 1 },
      { values: { cfl: 0.45 }, step: 2 },
      { values: { T: 300.5 }, step: 7 },
      { values: { T: 301 }, step: 8 },
    ]);
    // stderr and stdout race, so either bad `energy` may be the one warned about: once, for the name.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^the @simscope line: 'energy=(oops|bad)' is not NAME=NUMBER; skipped \(said once per name\)$/,
    );
  });

  it('samples the resources of the process tree', async () => {
    const { log } = await sidecar(['sh', '-c', 'sleep 0.5 & sleep 0.5; wait'], {
      resourcesIntervalMs: 100,
      lineMode: 'pipe',
    });
    expect(log.metrics.length).toBeGreaterThanOrEqual(3);
    expect(log.metrics[0]!.values['resources/processes']).toBe(3);
    expect(log.metrics[1]!.values['resources/cpu.percent']).toBeGreaterThanOrEqual(0);
  });
});

describe('events', () => {
  const PRINTER = [
    'sh',
    '-c',
    `echo "@simscope step=1 energy=-3"
     echo "it 2 cfl=0.45"
     echo "WARNING: small dt"
     echo "plain line"
     echo "solver error" >&2`,
  ];
  const patterns = { metricPatterns: [/it (?<step>\d+) cfl=(?<cfl>\S+)/], lineMode: 'pipe' as const };
  const kept = (log: RecordingLog) => log.events.map((e) => `${e.level}:${e.message}`).sort();

  it('all: every line of stdout and stderr', async () => {
    const { log, result } = await sidecar(PRINTER, { ...patterns, events: 'all' });
    expect(kept(log)).toEqual([
      'error:solver error',
      'info:@simscope step=1 energy=-3',
      'info:WARNING: small dt',
      'info:it 2 cfl=0.45',
      'info:plain line',
    ]);
    expect(result.lines).toEqual({ stdout: 4, stderr: 1 });
  });

  it('matched: the lines that give metrics or match an event pattern; metrics all the same', async () => {
    const { log, result } = await sidecar(PRINTER, {
      ...patterns,
      events: 'matched',
      eventPatterns: [/WARNING|error/],
    });
    expect(kept(log)).toEqual([
      'error:solver error',
      'info:@simscope step=1 energy=-3',
      'info:WARNING: small dt',
      'info:it 2 cfl=0.45',
    ]);
    expect(log.metrics).toEqual([
      { values: { energy: -3 }, step: 1 },
      { values: { cfl: 0.45 }, step: 2 },
    ]);
    expect(result.lines).toEqual({ stdout: 4, stderr: 1 });
  });

  it('matched without patterns: of 20,000 lines only the protocol ones, however the output is cut', async () => {
    const script =
      'for (i = 0; i < 20000; i++) if (i % 5000 == 7) printf "@simscope step=%d x=%d\\n", i, i; else print "line " i';
    for (const lineMode of ['pty', 'pipe'] as const) {
      const { log, result } = await sidecar(['awk', `BEGIN { ${script} }`], { lineMode, events: 'matched' });
      expect(log.events.map((e) => e.message)).toEqual(
        [7, 5007, 10007, 15007].map((i) => `@simscope step=${i} x=${i}`),
      );
      expect(log.metrics.map((m) => m.step)).toEqual([7, 5007, 10007, 15007]);
      expect(result.lines).toEqual({ stdout: 20000, stderr: 0 });
    }
  });

  it('none: no output line, and still the metrics', async () => {
    const { log, shown } = await sidecar(PRINTER, { ...patterns, events: 'none' });
    expect(log.events).toEqual([]);
    expect(log.metrics).toHaveLength(2);
    expect(shown.stdout).toBe('@simscope step=1 energy=-3\nit 2 cfl=0.45\nWARNING: small dt\nplain line\n');
  });
});

describe('wall-time deadline', () => {
  it('warns once, the margin before the deadline, while the program runs', async () => {
    const atMs = Date.now() + 60_400;
    const { log, warnings } = await sidecar(['sh', '-c', 'sleep 0.8'], {
      lineMode: 'pipe',
      deadline: { atMs, marginMs: 60_000 },
    });
    const message = `wall-time limit in 1 min (at ${new Date(atMs).toISOString()}); time to checkpoint`;
    expect(log.events.map((e) => [e.level, e.message])).toEqual([['warning', `simscope: ${message}`]]);
    expect(warnings).toEqual([message]);
  });

  it('says nothing when the program ends before the margin', async () => {
    const { log, warnings } = await sidecar(['true'], {
      lineMode: 'pipe',
      deadline: { atMs: Date.now() + 3_600_000, marginMs: 600_000 },
    });
    expect(log.events).toEqual([]);
    expect(warnings).toEqual([]);
  });
});

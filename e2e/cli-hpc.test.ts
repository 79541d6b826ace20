import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';
import { cliSuite } from './cli-suite.js';

/** Issue 23: sweeps, scheduler facts and signals of `simscope` against a server process. */
describe('simscope sweep and batch jobs against a server process', () => {
  const suite = cliSuite('hpc', { timeoutMs: 60_000 });

  it('runs a 3 × 2 grid two at a time, one point failing, then reruns only that point', async () => {
    // Point re=400 mesh=128 fails until the file `fixed` exists.
    const program = [
      'sh',
      '-c',
      'echo "@simscope step=0 cells={mesh}"; if [ {re} = 400 ] && [ {mesh} = 128 ] && [ ! -e fixed ]; then echo diverged >&2; exit 3; fi',
    ];
    const folder = '/sweeps/cavity';
    const first = await runCli(
      [
        'sweep',
        '--folder',
        folder,
        '-p',
        're=100,400,1000',
        '-p',
        'mesh=64,128',
        '-j',
        '2',
        '--',
        ...program,
      ],
      suite.cli,
    );
    expect(first.code).toBe(1);
    const progress = first.stderr.split('\n');
    expect(
      progress
        .filter((l) => l.startsWith('simscope: ['))
        .map((l) => l.replace(/^simscope: \[\d\/6\] /, '').replace(/ in \S+ s$/, ''))
        .sort(),
    ).toEqual([
      'point 0 (re=100 mesh=64): completed',
      'point 1 (re=100 mesh=128): completed',
      'point 2 (re=400 mesh=64): completed',
      'point 3 (re=400 mesh=128): failed (exit code 3)',
      'point 4 (re=1000 mesh=64): completed',
      'point 5 (re=1000 mesh=128): completed',
    ]);
    expect(progress.at(-2)).toBe(
      `simscope: sweep ${folder}: 5 completed, 1 failed (points 3); rerun them with: simscope sweep --folder ${folder} --retry-failed`,
    );

    const [made] = (await suite.client.call('listFolders', { query: { path: folder } })).items;
    expect(made?.metadata).toEqual({
      sweep: {
        name: 'cavity',
        parameters: ['re', 'mesh'],
        points: 6,
        groups: [{ re: [100, 400, 1000] }, { mesh: [64, 128] }],
        command: program,
        runOptions: [],
      },
    });
    const runsOf = async () =>
      (await suite.client.runs.listAll({ folder })).items
        .map((r) => [r.name, r.status, r.metadata])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    const expected = [
      ['cavity-0', 'completed', { re: 100, mesh: 64, sweep: { point: 0, attempt: 0 } }],
      ['cavity-1', 'completed', { re: 100, mesh: 128, sweep: { point: 1, attempt: 0 } }],
      ['cavity-2', 'completed', { re: 400, mesh: 64, sweep: { point: 2, attempt: 0 } }],
      ['cavity-3', 'failed', { re: 400, mesh: 128, sweep: { point: 3, attempt: 0 } }],
      ['cavity-4', 'completed', { re: 1000, mesh: 64, sweep: { point: 4, attempt: 0 } }],
      ['cavity-5', 'completed', { re: 1000, mesh: 128, sweep: { point: 5, attempt: 0 } }],
    ];
    expect(await runsOf()).toEqual(expected);
    const [cells] = await suite.client.getMetricValues('cavity-5', 'cells');
    expect(Array.from(cells?.values ?? [])).toEqual([128]);

    writeFileSync(join(suite.work, 'fixed'), '');
    const retry = await runCli(['sweep', '--folder', folder, '--retry-failed'], suite.cli);
    expect(retry.code).toBe(0);
    expect(retry.stderr.replace(/ in \S+ s\n/, '\n')).toBe(
      `simscope: [1/1] point 3 (re=400 mesh=128): completed\nsimscope: sweep ${folder}: 1 completed, 0 failed\n`,
    );
    expect(await runsOf()).toEqual([
      ...expected.slice(0, 4),
      ['cavity-3.r1', 'completed', { re: 400, mesh: 128, sweep: { point: 3, attempt: 1 } }],
      ...expected.slice(4),
    ]);
    const again = await runCli(['sweep', '--folder', folder, '--retry-failed'], suite.cli);
    expect(again).toMatchObject({ code: 0, stderr: `simscope: sweep ${folder}: no failed points\n` });

    const emitted = await runCli(
      ['sweep', '--folder', folder, '--retry-failed', '--emit', 'slurm'],
      suite.cli,
    );
    expect(emitted.stdout).toBe('');
    const taken = await runCli(['sweep', '--folder', folder, '-p', 're=1', '--', 'true'], suite.cli);
    expect(taken).toMatchObject({ code: 2 });
    expect(taken.stderr).toContain(`--folder ${folder}: already holds a sweep`);
  });

  it('records the SLURM job, warns before its wall-time limit, and passes its signal on', async () => {
    const end = Math.floor(Date.now() / 1000) + 62;
    const env = {
      ...suite.cli.env,
      SLURM_JOB_ID: '4243',
      SLURM_ARRAY_JOB_ID: '4240',
      SLURM_ARRAY_TASK_ID: '3',
      SLURM_JOB_PARTITION: 'short',
      SLURM_NTASKS: '1',
      SLURM_JOB_END_TIME: String(end),
      SLURM_SUBMIT_DIR: suite.work,
    };
    const result = await runCli(
      [
        'run',
        '--name',
        'slurm-task',
        '--walltime-warning',
        '1m',
        '--resources-interval',
        '0',
        '--',
        'sh',
        '-c',
        'trap "echo got USR1; exit 0" USR1; echo ready; while :; do sleep 0.1; done',
      ],
      {
        ...suite.cli,
        env,
        // As SLURM's --signal=B:USR1@300 would, once the program runs.
        onStdout: (chunk, child) => {
          if (chunk.includes('ready')) setTimeout(() => child.kill('SIGUSR1'), 2500);
        },
      },
    );
    expect(result).toMatchObject({ code: 0, stdout: 'ready\ngot USR1\n' });
    const run = await suite.client.getRun('slurm-task');
    expect(run.status).toBe('completed');
    expect(run.system.scheduler).toEqual({
      scheduler: 'slurm',
      jobId: '4243',
      jobName: null,
      arrayJobId: '4240',
      arrayTaskId: 3,
      partition: 'short',
      nodes: null,
      tasks: 1,
      account: null,
      wallTimeSeconds: null,
      deadline: new Date(end * 1000).toISOString(),
      submitDir: suite.work,
    });
    // The warning and the signal come at times of their own; the order of the rest is the program's.
    const events = (await suite.client.getEvents('slurm-task')).map((e) => [e.level, e.message]);
    expect(events.filter((e) => e[0] === 'info')).toEqual([
      ['info', 'ready'],
      ['info', 'got USR1'],
      ['info', 'simscope: sh exited with code 0'],
    ]);
    expect(events.filter((e) => e[0] === 'warning').sort()).toEqual([
      ['warning', 'simscope: received SIGUSR1; passed on to the program'],
      [
        'warning',
        `simscope: wall-time limit in 1 min (at ${new Date(end * 1000).toISOString()}); time to checkpoint`,
      ],
    ]);
  });

  it('--resume continues a run as a new segment, restarting from a checkpoint with --rewind-to', async () => {
    const steps = (from: number, to: number, scale: number) =>
      Array.from(
        { length: to - from + 1 },
        (_, i) => `echo "@simscope step=${from + i} x=${(from + i) * scale}"`,
      ).join('; ');
    const first = await runCli(
      ['run', '--name', 'chain', '--resources-interval', '0', '--', 'sh', '-c', `${steps(1, 3, 1)}; exit 1`],
      suite.cli,
    );
    expect(first.code).toBe(1);
    const refused = await runCli(['run', '--resume', 'chain', '--name', 'other', '--', 'true'], suite.cli);
    expect(refused).toMatchObject({ code: 2 });
    expect(refused.stderr).toContain('--resume: the run keeps what it has; leave out --name');
    const second = await runCli(
      [
        'run',
        '--resume',
        'chain',
        '--rewind-to',
        '1',
        '--resources-interval',
        '0',
        '--',
        'sh',
        '-c',
        steps(2, 3, 10),
      ],
      { ...suite.cli, env: { ...suite.cli.env, SLURM_JOB_ID: '5001' } },
    );
    expect(second.code).toBe(0);

    const run = await suite.client.getRun('chain');
    expect(run.status).toBe('completed');
    const { segments } = await suite.client.call('listSegments', { params: { run: run.id } });
    expect(segments.map((s) => [s.number, s.rewindTo, s.jobId, s.status])).toEqual([
      [1, null, null, 'failed'],
      [2, 1, '5001', 'completed'],
    ]);
    const [x] = await suite.client.getMetricValues('chain', 'x');
    expect({ steps: Array.from(x?.x ?? []), values: Array.from(x?.values ?? []) }).toEqual({
      steps: [1, 2, 3],
      values: [1, 20, 30],
    });
  });
});

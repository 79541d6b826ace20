import { describe, expect, it } from 'vitest';
import { pbsArrayScript, slurmArrayScript } from './batch-scripts.js';
import { expandPoints } from './parameter-space.js';
import type { SweepSpec } from './sweep-spec.js';

const SPEC: SweepSpec = {
  folder: '/cfd/cavity-re',
  name: 'cavity',
  groups: [{ re: [100, 1000] }, { mesh: [64, 128] }],
  command: ['./cavity', '--re', '{re}', '--mesh={mesh}', 'out-{point}'],
  runOptions: ['--tag', 'sweep'],
};
const ALL = expandPoints(SPEC.groups).map((point) => ({ point, attempt: 0 }));

const run = (i: number, re: number, mesh: number, attempt = 0) =>
  `exec simscope run --quiet --name cavity-${i}${attempt ? `.r${attempt}` : ''} --folder /cfd/cavity-re --metadata-json '{"re":${re},"mesh":${mesh},"sweep":{"point":${i},"attempt":${attempt}}}' --tag sweep -- ./cavity --re ${re} --mesh=${mesh} out-${i}`;

/** The end of a script over ALL: the case that runs the point of array task `task`. */
const allPoints = (task: string) => `case "${task}" in
  0) ${run(0, 100, 64)} ;;
  1) ${run(1, 100, 128)} ;;
  2) ${run(2, 1000, 64)} ;;
  3) ${run(3, 1000, 128)} ;;
  *) echo "simscope sweep: no point for array task ${task}" >&2; exit 2 ;;
esac
`;

describe('job-array scripts', () => {
  it('SLURM: a task per point, a limit on tasks at once, extra directives, the warning signal', () => {
    expect(
      slurmArrayScript(SPEC, ALL, { parallel: 2, directives: ['--time=01:00:00', '--partition=short'] }),
    ).toBe(`#!/bin/bash
# Sweep cavity in /cfd/cavity-re: array task i runs the i-th of points 0 1 2 3.
# Written by simscope sweep --emit slurm; submit with sbatch.
#SBATCH --job-name=cavity
#SBATCH --array=0-3%2
#SBATCH --signal=B:USR1@300
#SBATCH --time=01:00:00
#SBATCH --partition=short
set -euo pipefail
${allPoints('$SLURM_ARRAY_TASK_ID')}`);
  });

  it('PBS: -J, the submit directory, PBS Pro and Torque task variables', () => {
    expect(pbsArrayScript(SPEC, ALL, { directives: ['-l walltime=01:00:00'] })).toBe(`#!/bin/bash
# Sweep cavity in /cfd/cavity-re: array task i runs the i-th of points 0 1 2 3.
# Written by simscope sweep --emit pbs; submit with qsub.
#PBS -N cavity
#PBS -J 0-3
#PBS -l walltime=01:00:00
set -euo pipefail
cd "$PBS_O_WORKDIR"
task="\${PBS_ARRAY_INDEX:-\${PBS_ARRAYID:-0}}"
${allPoints('$task')}`);
  });

  it('reruns: tasks 0… map to the failed points, under new run names; one PBS task is no array', () => {
    const retry = [
      { point: { index: 1, values: { re: 100, mesh: 128 } }, attempt: 1 },
      { point: { index: 3, values: { re: 1000, mesh: 128 } }, attempt: 2 },
    ];
    const slurm = slurmArrayScript(SPEC, retry, { directives: [] }).split('\n');
    expect(slurm.filter((l) => l.startsWith('#SBATCH --array') || /^ {2}\d\)/.test(l))).toEqual([
      '#SBATCH --array=0-1',
      `  0) ${run(1, 100, 128, 1)} ;;`,
      `  1) ${run(3, 1000, 128, 2)} ;;`,
    ]);
    const pbs = pbsArrayScript(SPEC, retry.slice(0, 1), { directives: [] });
    expect(pbs).not.toContain('#PBS -J');
    expect(pbs).toContain(`  0) ${run(1, 100, 128, 1)} ;;`);
  });

  it('the scripts are valid bash', async () => {
    const { execFileSync } = await import('node:child_process');
    for (const script of [
      slurmArrayScript(SPEC, ALL, { directives: [] }),
      pbsArrayScript(SPEC, ALL, { directives: [] }),
    ]) {
      expect(execFileSync('bash', ['-n'], { input: script, encoding: 'utf8' })).toBe('');
    }
  });
});

import { type PointLaunch, pointCommandLine, type SweepSpec } from './sweep-spec.js';

/** The batch schedulers `simscope sweep --emit` writes job-array scripts for. */
export const EMIT_TARGETS = ['slurm', 'pbs'] as const;
type EmitTarget = (typeof EMIT_TARGETS)[number];

interface BatchScriptOptions {
  /** At most this many array tasks at once (SLURM's `%N`); none: the scheduler decides. */
  parallel?: number;
  /** Extra directive lines, as given (`--time=01:00:00`, `-l walltime=01:00:00`). */
  directives: readonly string[];
}

/** One `case` arm per array task: task i runs the i-th launch, with `exec` so signals reach `simscope run`. */
function caseArms(spec: SweepSpec, launches: readonly PointLaunch[], task: string): string[] {
  return [
    `case "${task}" in`,
    ...launches.map((launch, i) => `  ${i}) exec ${pointCommandLine(spec, launch)} ;;`),
    `  *) echo "simscope sweep: no point for array task ${task}" >&2; exit 2 ;;`,
    'esac',
  ];
}

function header(spec: SweepSpec, launches: readonly PointLaunch[], target: EmitTarget): string[] {
  const points = launches.map((l) => l.point.index).join(' ');
  return [
    '#!/bin/bash',
    `# Sweep ${spec.name} in ${spec.folder}: array task i runs the i-th of points ${points}.`,
    `# Written by simscope sweep --emit ${target}; submit with ${target === 'slurm' ? 'sbatch' : 'qsub'}.`,
  ];
}

/**
 * A SLURM job-array script with a task per launch. `--signal=B:USR1@300` asks SLURM to warn the batch shell
 * five minutes before the limit; the shell is `simscope run` (exec), which records it and passes it on.
 */
export function slurmArrayScript(
  spec: SweepSpec,
  launches: readonly PointLaunch[],
  options: BatchScriptOptions,
): string {
  const limit = options.parallel === undefined ? '' : `%${options.parallel}`;
  return `${[
    ...header(spec, launches, 'slurm'),
    `#SBATCH --job-name=${spec.name}`,
    `#SBATCH --array=0-${launches.length - 1}${limit}`,
    '#SBATCH --signal=B:USR1@300',
    ...options.directives.map((d) => `#SBATCH ${d}`),
    'set -euo pipefail',
    ...caseArms(spec, launches, '$SLURM_ARRAY_TASK_ID'),
  ].join('\n')}\n`;
}

/**
 * A PBS Professional job-array script (`-J`); Torque's `-t` sets `PBS_ARRAYID`, which the script reads too.
 * PBS starts a job in the home directory, so it moves to the directory it was submitted from.
 */
export function pbsArrayScript(
  spec: SweepSpec,
  launches: readonly PointLaunch[],
  options: BatchScriptOptions,
): string {
  // PBS Professional refuses an array of one subjob.
  const array = launches.length > 1 ? [`#PBS -J 0-${launches.length - 1}`] : [];
  return `${[
    ...header(spec, launches, 'pbs'),
    `#PBS -N ${spec.name}`,
    ...array,
    ...options.directives.map((d) => `#PBS ${d}`),
    'set -euo pipefail',
    'cd "$PBS_O_WORKDIR"',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
    'task="${PBS_ARRAY_INDEX:-${PBS_ARRAYID:-0}}"',
    ...caseArms(spec, launches, '$task'),
  ].join('\n')}\n`;
}

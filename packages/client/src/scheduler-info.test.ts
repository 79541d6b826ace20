import { describe, expect, it } from 'vitest';
import { parseSlurmTime, schedulerInfo } from './scheduler-info.js';
import { collectSystemInfo } from './system-info.js';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

describe('schedulerInfo', () => {
  it('reads a SLURM array task, its deadline from SLURM_JOB_END_TIME', () => {
    const env = {
      SLURM_JOB_ID: '4243',
      SLURM_JOB_NAME: 'cavity',
      SLURM_ARRAY_JOB_ID: '4240',
      SLURM_ARRAY_TASK_ID: '3',
      SLURM_JOB_PARTITION: 'compute',
      SLURM_JOB_NUM_NODES: '2',
      SLURM_NTASKS: '64',
      SLURM_JOB_ACCOUNT: 'cfd-lab',
      SLURM_JOB_START_TIME: String(NOW / 1000 - 60),
      SLURM_JOB_END_TIME: String(NOW / 1000 + 3540),
      SBATCH_TIMELIMIT: '1:00:00',
      SLURM_SUBMIT_DIR: '/home/ada/cavity',
    };
    expect(schedulerInfo(env, NOW)).toEqual({
      scheduler: 'slurm',
      jobId: '4243',
      jobName: 'cavity',
      arrayJobId: '4240',
      arrayTaskId: 3,
      partition: 'compute',
      nodes: 2,
      tasks: 64,
      account: 'cfd-lab',
      wallTimeSeconds: 3600,
      deadline: '2026-12-07T12:59:00.000Z',
      submitDir: '/home/ada/cavity',
    });
  });

  it('counts a SLURM deadline from the start and the limit when there is no end time', () => {
    const env = { SLURM_JOB_ID: '7', SLURM_JOB_START_TIME: String(NOW / 1000), SLURM_TIMELIMIT: '2-01:30' };
    expect(schedulerInfo(env, NOW + 5000)).toMatchObject({
      jobId: '7',
      arrayJobId: null,
      arrayTaskId: null,
      partition: null,
      wallTimeSeconds: 2 * 86400 + 3600 + 1800,
      deadline: '2026-12-09T13:30:00.000Z',
    });
  });

  it('reads a PBS Professional array task and a Torque one', () => {
    const pro = {
      PBS_JOBID: '812[5].pbs01',
      PBS_JOBNAME: 'sweep',
      PBS_ARRAY_ID: '812[].pbs01',
      PBS_ARRAY_INDEX: '5',
      PBS_QUEUE: 'workq',
      PBS_ACCOUNT: 'proj9',
      PBS_O_WORKDIR: '/scratch/ada/sweep',
    };
    expect(schedulerInfo(pro, NOW)).toEqual({
      scheduler: 'pbs',
      jobId: '812[5].pbs01',
      jobName: 'sweep',
      arrayJobId: '812[].pbs01',
      arrayTaskId: 5,
      partition: 'workq',
      nodes: null,
      tasks: null,
      account: 'proj9',
      wallTimeSeconds: null,
      deadline: null,
      submitDir: '/scratch/ada/sweep',
    });
    const torque = {
      PBS_JOBID: '99[2].torque',
      PBS_ARRAYID: '2',
      PBS_NUM_NODES: '4',
      PBS_NP: '96',
      PBS_WALLTIME: '7200',
    };
    expect(schedulerInfo(torque, NOW)).toMatchObject({
      arrayJobId: '99[]',
      arrayTaskId: 2,
      nodes: 4,
      tasks: 96,
      wallTimeSeconds: 7200,
      deadline: '2026-12-07T14:00:00.000Z',
    });
  });

  it('is null outside a batch job', () => {
    expect(schedulerInfo({ HOME: '/home/ada' }, NOW)).toBeNull();
  });

  it('reads every SLURM time format, and not UNLIMITED', () => {
    expect(['30', '30:15', '2:30:15', '1-2', '1-2:30', '1-2:30:15', 'UNLIMITED'].map(parseSlurmTime)).toEqual(
      [1800, 1815, 9015, 93600, 95400, 95415, null],
    );
  });

  it('is part of the system info a run records', async () => {
    const info = await collectSystemInfo({
      env: { ...process.env, SLURM_JOB_ID: '31337', SLURM_NTASKS: '8' },
    });
    expect(info.scheduler).toMatchObject({ scheduler: 'slurm', jobId: '31337', tasks: 8 });
    const none = { ...process.env };
    for (const key of Object.keys(none))
      if (key.startsWith('SLURM_') || key.startsWith('PBS_')) delete none[key];
    expect((await collectSystemInfo({ env: none })).scheduler).toBeNull();
  });
});

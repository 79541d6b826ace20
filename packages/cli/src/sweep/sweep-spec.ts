import type { Json } from '@simscope/protocol';
import { UsageError } from '../errors.js';
import { shellQuote } from '../sidecar/child-launcher.js';
import {
  expandPoints,
  groupsFromDocument,
  type ParameterGroup,
  type SweepPoint,
  substituteCommand,
} from './parameter-space.js';

/** A sweep as its folder's metadata (`sweep`) keeps it: enough to run, emit or retry any point again. */
export interface SweepSpec {
  /** The folder holding the sweep's runs. */
  folder: string;
  /** Run names are `<name>-<point>` (`.r<attempt>` appended for reruns). */
  name: string;
  groups: ParameterGroup[];
  /** The command, with `{parameter}` and `{point}` placeholders. */
  command: string[];
  /** Options given to `simscope run` for every point (`--tag`, `--metrics-regex`, `--events` …). */
  runOptions: string[];
}

/** A point to launch, and which launch of it this is (0 the first, then 1, 2 … for reruns). */
export interface PointLaunch {
  point: SweepPoint;
  attempt: number;
}

/** The folder metadata a sweep is kept in. */
export function sweepMetadata(spec: SweepSpec): Record<string, Json> {
  return {
    sweep: {
      name: spec.name,
      parameters: spec.groups.flatMap((g) => Object.keys(g)),
      points: expandPoints(spec.groups).length,
      groups: spec.groups,
      command: spec.command,
      runOptions: spec.runOptions,
    },
  };
}

/** Reads a sweep back from its folder's metadata; a usage error where the folder holds none. */
export function sweepFromMetadata(folder: string, metadata: Record<string, Json>): SweepSpec {
  const sweep = metadata.sweep as Record<string, Json> | undefined;
  const strings = (v: Json | undefined) => Array.isArray(v) && v.every((w) => typeof w === 'string');
  if (
    typeof sweep !== 'object' ||
    sweep === null ||
    typeof sweep.name !== 'string' ||
    !Array.isArray(sweep.groups) ||
    !strings(sweep.command) ||
    !strings(sweep.runOptions)
  ) {
    throw new UsageError(
      `--folder ${folder}: holds no sweep (its metadata has no sweep made by simscope sweep)`,
    );
  }
  const groups = sweep.groups.map(
    (g, i) => groupsFromDocument({ zip: g }, `folder ${folder}: sweep.groups[${i}]`)[0],
  );
  return {
    folder,
    name: sweep.name,
    groups: groups.filter((g): g is ParameterGroup => g !== undefined),
    command: sweep.command as string[],
    runOptions: sweep.runOptions as string[],
  };
}

/** The arguments of `simscope` that run one point: `run`, its name, folder and metadata, and the command. */
export function pointRunArgs(spec: SweepSpec, { point, attempt }: PointLaunch): string[] {
  const name = `${spec.name}-${point.index}${attempt > 0 ? `.r${attempt}` : ''}`;
  const metadata = { ...point.values, sweep: { point: point.index, attempt } };
  return [
    'run',
    '--quiet',
    '--name',
    name,
    '--folder',
    spec.folder,
    '--metadata-json',
    JSON.stringify(metadata),
    ...spec.runOptions,
    '--',
    ...substituteCommand(spec.command, point),
  ];
}

/** The shell line that runs one point: `simscope run …`, every word quoted for `sh`. */
export function pointCommandLine(spec: SweepSpec, launch: PointLaunch): string {
  return ['simscope', ...pointRunArgs(spec, launch)].map(shellQuote).join(' ');
}

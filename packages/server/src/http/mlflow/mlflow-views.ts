import type { RunStatus } from '@simscope/protocol';
import type { FolderRecord } from '../../store/folder-store.js';
import type { RunRecord } from '../../store/run-store.js';

/** The experiment id of the root folder `/`: MLflow's `Default` experiment. */
export const DEFAULT_EXPERIMENT_ID = '0';

const STATUS_TO_MLFLOW: Record<RunStatus, string> = {
  created: 'SCHEDULED',
  running: 'RUNNING',
  lost: 'RUNNING',
  completed: 'FINISHED',
  failed: 'FAILED',
  terminated: 'KILLED',
};

export interface KeyValue {
  key: string;
  value: string;
}

const ms = (micros: number) => Math.floor(micros / 1000);

/** MLflow's experiment name of a folder: its path without the leading `/`; `/` is `Default`. */
function experimentName(path: string): string {
  return path === '/' ? 'Default' : path.slice(1);
}

/** The folder path of an MLflow experiment name. */
export function folderPath(name: string): string {
  if (name === 'Default') return '/';
  return name.startsWith('/') ? name : `/${name}`;
}

export function experimentId(folder: Pick<FolderRecord, 'id' | 'path'>): string {
  return folder.path === '/' ? DEFAULT_EXPERIMENT_ID : folder.id;
}

/** A string map kept in metadata (`params`, `tags`) as MLflow's list of `{ key, value }`, by key (JSONB keeps no order). */
export function keyValues(map: unknown): KeyValue[] {
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return [];
  return Object.entries(map)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([key, value]) => ({ key, value }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function experimentView(folder: FolderRecord) {
  return {
    experiment_id: experimentId(folder),
    name: experimentName(folder.path),
    artifact_location: '',
    lifecycle_stage: 'active',
    last_update_time: ms(folder.createdAt),
    creation_time: ms(folder.createdAt),
    tags: keyValues(folder.metadata.tags),
  };
}

export function runInfoView(run: RunRecord, experiment: string) {
  return {
    run_id: run.id,
    run_uuid: run.id,
    run_name: run.name,
    experiment_id: experiment,
    user_id: run.userName,
    status: STATUS_TO_MLFLOW[run.status],
    start_time: ms(run.startedAt ?? run.createdAt),
    ...(run.endedAt === null ? {} : { end_time: ms(run.endedAt) }),
    artifact_uri: `mlflow-artifacts:/${experiment}/${run.id}/artifacts`,
    lifecycle_stage: 'active',
  };
}

/** A metric value as MLflow's JSON writes it: non-finite numbers as strings. */
export function metricValue(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

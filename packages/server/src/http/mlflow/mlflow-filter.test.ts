import { formatFilter } from '@simscope/protocol';
import { describe, expect, it } from 'vitest';
import { MlflowError } from './mlflow-errors.js';
import {
  experimentNameMatcher,
  mlflowFilterToSimscope,
  mlflowOrder,
  parseMlflowFilter,
} from './mlflow-filter.js';

const simscope = (filter: string) =>
  mlflowFilterToSimscope(parseMlflowFilter(filter)).map((expr) => formatFilter(expr));

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MlflowError);
    return { code: (error as MlflowError).errorCode, message: (error as Error).message };
  }
  throw new Error('expected a refusal');
};

describe('MLflow search filter', () => {
  it('reads the clauses of MLflow’s documented examples', () => {
    expect(
      parseMlflowFilter(
        'metrics.rmse < 1 and params.model = \'tree\' AND tags.`mlflow.source.type` = "LOCAL"',
      ),
    ).toEqual([
      { entity: 'metric', key: 'rmse', op: '<', values: [1] },
      { entity: 'param', key: 'model', op: '=', values: ['tree'] },
      { entity: 'tag', key: 'mlflow.source.type', op: '=', values: ['LOCAL'] },
    ]);
    expect(parseMlflowFilter("attributes.status IN ('FAILED', 'KILLED') and run_name NOT IN ('a')")).toEqual([
      { entity: 'attribute', key: 'status', op: 'IN', values: ['FAILED', 'KILLED'] },
      { entity: 'attribute', key: 'run_name', op: 'NOT IN', values: ['a'] },
    ]);
    expect(parseMlflowFilter('metrics.acc >= -1.5e-3')).toEqual([
      { entity: 'metric', key: 'acc', op: '>=', values: [-0.0015] },
    ]);
    expect(parseMlflowFilter('')).toEqual([]);
  });

  it('becomes the Simscope filter over metric last values, metadata and run columns', () => {
    expect(simscope("metrics.loss <= 0.5 and params.lr = '0.1' and tags.team != 'cfd'")).toEqual([
      'metrics.loss.last <= 0.5',
      'metadata.params.lr == "0.1"',
      'metadata.tags.team != cfd',
    ]);
    expect(simscope("attributes.status = 'RUNNING'")).toEqual(['status == running or status == lost']);
    expect(simscope("run_name LIKE 'cav%_1'")).toEqual(['name matches "^cav.*.1$"']);
    expect(simscope("tags.`mlflow.runName` ILIKE 'a'")).toEqual(['name matches "^[aA]$"']);
  });

  it('refuses what MLflow refuses, and OR, with INVALID_PARAMETER_VALUE', () => {
    expect(refusal(() => parseMlflowFilter("params.a = 'x' or params.b = 'y'"))).toEqual({
      code: 'INVALID_PARAMETER_VALUE',
      message:
        "Invalid filter 'params.a = 'x' or params.b = 'y'': clauses are joined by AND (OR is not supported)",
    });
    expect(refusal(() => parseMlflowFilter("foo.a = 'x'"))).toEqual({
      code: 'INVALID_PARAMETER_VALUE',
      message: "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', 'attribute']",
    });
    expect(refusal(() => simscope('params.lr = 0.1')).message).toBe(
      'Parameter value is either not quoted or unidentified quote types used for string value 0.1',
    );
    expect(refusal(() => simscope("metrics.loss = 'a'")).code).toBe('INVALID_PARAMETER_VALUE');
    expect(refusal(() => simscope("attributes.status = 'DONE'")).message).toBe(
      "Invalid run status 'DONE': expected one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED",
    );
    expect(refusal(() => parseMlflowFilter("params.a = 'x"))).toEqual({
      code: 'INVALID_PARAMETER_VALUE',
      message: "Invalid filter 'params.a = 'x': unterminated quote at 11",
    });
  });

  it('sorts by one attribute, ascending unless told', () => {
    expect(mlflowOrder([])).toEqual({ field: 'created', descending: true });
    expect(mlflowOrder(['attributes.start_time DESC'])).toEqual({ field: 'created', descending: true });
    expect(mlflowOrder(['run_name'])).toEqual({ field: 'name', descending: false });
    expect(mlflowOrder(['end_time asc'])).toEqual({ field: 'ended', descending: false });
    expect(refusal(() => mlflowOrder(['metrics.loss DESC'])).code).toBe('INVALID_PARAMETER_VALUE');
    expect(refusal(() => mlflowOrder(['run_name', 'status'])).message).toBe(
      'this server sorts runs by one order_by clause only',
    );
  });

  it('filters experiment names by =, != and (I)LIKE', () => {
    const like = experimentNameMatcher("name ILIKE 'CFD/%'");
    expect(['cfd/a', 'CFD/b', 'fem/c'].filter(like)).toEqual(['cfd/a', 'CFD/b']);
    expect(['a', 'b'].filter(experimentNameMatcher("name != 'a'"))).toEqual(['b']);
  });
});

import { inspect } from 'node:util';
import { servicePathProblem } from '@simscope/protocol';
import { describe, expect, it } from 'vitest';
import { TelemetryError } from './errors.js';
import { TelemetryRegister } from './register.js';
import { checkEndpoint, parseRegistry } from './registry.js';
import { Telemetry } from './telemetry.js';

// The sample config of access-py-telemetry, as its documentation gives it.
const ACCESS_CONFIG = `
intake:
  catalog:
    - esm_datastore.search
    - DfFileCatalog.search
    - DfFileCatalog.__getitem__
payu:
  run:
    - Experiment.run
  restart:
    - Experiment.restart
`;

const EXECUTOR_CONFIG = `
executor:
  run:
    - executor.run
  save_results:
    - executor.save_results
`;

const offline = () => new Telemetry({ enabled: false });

describe('parseRegistry', () => {
  it('reads the access-py-telemetry sample into its services, endpoints and functions', () => {
    expect(parseRegistry(ACCESS_CONFIG)).toEqual([
      {
        name: 'intake_catalog',
        endpoint: 'intake/catalog',
        functions: ['esm_datastore.search', 'DfFileCatalog.search', 'DfFileCatalog.__getitem__'],
      },
      { name: 'payu_run', endpoint: 'payu/run', functions: ['Experiment.run'] },
      { name: 'payu_restart', endpoint: 'payu/restart', functions: ['Experiment.restart'] },
    ]);
    expect(parseRegistry(EXECUTOR_CONFIG).map((e) => [e.name, e.endpoint])).toEqual([
      ['executor_run', 'executor/run'],
      ['executor_save_results', 'executor/save_results'],
    ]);
  });

  it('takes any depth, flow lists, empty endpoints, and drops repeated names', () => {
    expect(parseRegistry('a:\n  b:\n    c: [f, g, f]\n  d:\ntop: [h]\n')).toEqual([
      { name: 'a_b_c', endpoint: 'a/b/c', functions: ['f', 'g'] },
      { name: 'a_d', endpoint: 'a/d', functions: [] },
      { name: 'top', endpoint: 'top', functions: ['h'] },
    ]);
    expect(parseRegistry('')).toEqual([]);
    expect(parseRegistry('# nothing yet\n')).toEqual([]);
  });

  it('names the place of each mistake', () => {
    const error = (text: string) => {
      try {
        parseRegistry(text, 'config.yaml');
      } catch (e) {
        expect(e).toBeInstanceOf(TelemetryError);
        expect((e as TelemetryError).code).toBe('invalid_field');
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(error('intake:\n  catalog:\n    - search\n    - 3\n')).toBe(
      'config.yaml: intake.catalog[1]: expected a function name (a non-empty string), got 3',
    );
    expect(error('intake: 5\n')).toBe(
      'config.yaml: intake: expected a list of function names or a mapping of endpoints, got 5',
    );
    expect(error('- a\n- b\n')).toBe('config.yaml: expected a mapping of services to endpoints');
    expect(error('intake:\n  "bad name":\n    - f\n')).toMatch(
      /^config\.yaml: intake\.bad name: 'intake\/bad name' is not a service endpoint/,
    );
    expect(error('a_b: [f]\na:\n  b: [g]\n')).toBe(
      "config.yaml: endpoints 'a_b' and 'a/b' both make the service name 'a_b'",
    );
    expect(error('intake: [unclosed\n')).toMatch(/^config\.yaml: not valid YAML: /);
  });

  it('accepts exactly the endpoints the server accepts', () => {
    for (const path of ['a', 'a/b', 'intake/catalog', 'x.y/z-1/_w', 'a/b/c/d/e/f/g/h', 'a'.repeat(255)]) {
      expect(servicePathProblem(path), path).toBeNull();
      expect(checkEndpoint(path)).toBe(path);
    }
    for (const path of [
      '',
      '/a',
      'a/',
      'a//b',
      '.a',
      '-a',
      'a/b/c/d/e/f/g/h/i',
      'a b',
      'a'.repeat(256),
      'é',
    ]) {
      expect(servicePathProblem(path), path).not.toBeNull();
      expect(() => checkEndpoint(path), path).toThrow(TelemetryError);
    }
  });
});

describe('TelemetryRegister', () => {
  it('shows the functions of a service from a loaded registry, printed as a list', () => {
    const telemetry = offline();
    telemetry.loadRegistry(ACCESS_CONFIG);
    const intake = new TelemetryRegister('intake_catalog', { telemetry });
    expect(intake.endpoint).toBe('intake/catalog');
    expect(String(intake)).toBe(
      '["esm_datastore.search", "DfFileCatalog.search", "DfFileCatalog.__getitem__"]',
    );
    expect(inspect(intake)).toBe(String(intake));
    expect(JSON.stringify(intake)).toBe(
      '["esm_datastore.search","DfFileCatalog.search","DfFileCatalog.__getitem__"]',
    );
    expect(new TelemetryRegister('payu/restart', { telemetry }).functions).toEqual(['Experiment.restart']);
  });

  it('registers and deregisters names and functions, and makes new services', () => {
    const telemetry = offline();
    expect(() => new TelemetryRegister('my_service', { telemetry })).toThrow(
      "service: 'my_service' is not a service of the registry, and a name with '_' could stand for several endpoints ('my/service', 'my_service'); pass the endpoint, or declare it in a registry",
    );
    const registry = new TelemetryRegister('my/service', { telemetry });
    expect(registry.service).toBe('my_service');
    expect(registry.endpoint).toBe('my/service');
    expect(String(registry)).toBe('[]');
    function someFunc() {}
    function anotherFunc() {}
    registry.register('some_other_func').register(someFunc, 'some_other_func', anotherFunc);
    expect(registry.functions).toEqual(['some_other_func', 'someFunc', 'anotherFunc']);
    expect(registry.has(someFunc)).toBe(true);
    registry.deregister(someFunc, 'some_other_func');
    expect(`${registry}`).toBe('["anotherFunc"]');
    expect(registry.has('someFunc')).toBe(false);
    expect(new TelemetryRegister('my_service', { telemetry }).functions).toEqual(['anotherFunc']);
    expect(telemetry.services().map((s) => s.endpoint)).toEqual(['my/service']);
    expect(() => registry.register(() => 1)).toThrow('register: expected function names or named functions');
  });

  it('uses the process default instance when given none', () => {
    expect(Telemetry.default()).toBe(Telemetry.default());
    const probe = new TelemetryRegister('default/probe').register('probe');
    expect(probe.endpoint).toBe('default/probe');
    expect(Telemetry.default().functions('default_probe')).toEqual(['probe']);
    expect(offline().hasService('default_probe')).toBe(false);
  });

  it('refuses extra fields and popped fields for a service nobody declared', () => {
    const telemetry = offline();
    expect(() => telemetry.addExtraField('my_other_service', { interesting_data: 1 })).toThrow(
      "service 'my_other_service' not found; declare it in a registry (loadRegistry), with new TelemetryRegister('my_other_service'), or by tracking a function of it",
    );
    expect(() => telemetry.popFields('nope', ['session_id'])).toThrow(TelemetryError);
    expect(() => telemetry.setDestination('nope', { url: 'http://127.0.0.1:1', key: 'k' })).toThrow(
      /^service 'nope' not found/,
    );
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIni, readSimvueSettings } from './simvue-config.js';

describe('simvue.ini', () => {
  it('reads sections, = and : pairs and comments as configparser does', () => {
    expect(
      parseIni('; top\n[server]\nURL = https://s.example.org\ntoken: abc=def\n\n[other]\n# note\nx=1\n'),
    ).toEqual({
      server: { url: 'https://s.example.org', token: 'abc=def' },
      other: { x: '1' },
    });
    expect(() => parseIni('url = x\n', 'simvue.ini')).toThrow(
      "simvue.ini:1: expected [section] or key = value, got 'url = x'",
    );
  });

  it('takes ~/.simvue.ini, then ./simvue.ini, then the environment, each winning over the one before', () => {
    const root = mkdtempSync(join(tmpdir(), 'simscope-simvue-ini-'));
    try {
      writeFileSync(join(root, '.simvue.ini'), '[server]\nurl = https://home\ntoken = t-home\n');
      writeFileSync(join(root, 'simvue.ini'), '[server]\nurl = https://cwd\n');
      const read = (env: NodeJS.ProcessEnv, file?: string) =>
        readSimvueSettings({ env, cwd: root, home: root, ...(file ? { file } : {}) });
      expect(read({})).toEqual({
        url: { value: 'https://cwd', source: join(root, 'simvue.ini') },
        token: { value: 't-home', source: join(root, '.simvue.ini') },
        files: [join(root, '.simvue.ini'), join(root, 'simvue.ini')],
      });
      expect(read({ SIMVUE_TOKEN: 't-env' }).token).toEqual({ value: 't-env', source: 'SIMVUE_TOKEN' });
      expect(read({}, 'simvue.ini').token).toEqual({ value: null, source: 'unset' });
      expect(() => read({}, 'missing.ini')).toThrow(`${join(root, 'missing.ini')}: no such file`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

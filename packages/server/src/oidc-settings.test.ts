import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServerConfig } from './config.js';

describe('single sign-on settings', () => {
  const root = mkdtempSync(join(tmpdir(), 'simscope-oidc-config-'));
  const env = { SIMSCOPE_CONFIG: join(root, 'none.toml'), HOME: root };
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads flags and SIMSCOPE_OIDC_* variables, and allows http only to a provider on loopback', () => {
    const config = loadServerConfig(
      ['--oidc-issuer', 'http://127.0.0.1:9000', '--oidc-workspaces', 'physics=cfd, chem = lab:viewer'],
      {
        ...env,
        SIMSCOPE_OIDC_CLIENT_ID: 'simscope',
        SIMSCOPE_OIDC_CLIENT_SECRET: 's3cret',
        SIMSCOPE_PUBLIC_URL: 'https://simscope.example.org/',
        SIMSCOPE_OIDC_GROUPS_CLAIM: 'roles',
      },
      root,
    );
    expect(config.oidc).toEqual({
      issuer: 'http://127.0.0.1:9000',
      clientId: 'simscope',
      clientSecret: 's3cret',
      redirectUri: 'https://simscope.example.org/api/v1/auth/oidc/callback',
      workspaces: { physics: 'cfd', chem: 'lab:viewer' },
      allowHttp: true,
      groupsClaim: 'roles',
    });
    const remote = loadServerConfig(
      ['--oidc-issuer', 'http://idp.example.org', '--oidc-redirect-uri', 'https://s.example.org/cb'],
      { ...env, SIMSCOPE_OIDC_CLIENT_ID: 'a', SIMSCOPE_OIDC_CLIENT_SECRET: 'b' },
      root,
    );
    expect(remote.oidc?.allowHttp).toBe(false);
    expect(loadServerConfig([], env, root).oidc).toBeNull();
  });

  it('refuses an issuer without a client, a redirect or a well-formed mapping', () => {
    const load = (argv: string[]) => () => loadServerConfig(argv, env, root);
    expect(load(['--oidc-issuer', 'https://idp.example.org'])).toThrow(
      'oidc: --oidc-issuer needs --oidc-client-id and --oidc-client-secret',
    );
    const client = ['--oidc-client-id', 'a', '--oidc-client-secret', 'b'];
    expect(load(['--oidc-issuer', 'https://idp.example.org', ...client])).toThrow(
      'oidc: give --oidc-redirect-uri (or --public-url, which implies it)',
    );
    expect(load(['--oidc-issuer', 'ftp://idp', ...client])).toThrow(
      "oidc issuer: must be an http:// or https:// URL, got 'ftp://idp'",
    );
    const full = [
      '--oidc-issuer',
      'https://idp.example.org',
      '--oidc-redirect-uri',
      'https://s/cb',
      ...client,
    ];
    expect(load([...full, '--oidc-workspaces', 'physics'])).toThrow(
      "oidc workspaces: 'physics' is not GROUP=WORKSPACE",
    );
    expect(load([...full, '--oidc-workspaces', 'physics=cfd:boss'])).toThrow(
      "oidc workspaces: role 'boss' of 'physics=cfd:boss' is not one of owner, editor, viewer",
    );
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** What the proxy changes in the ID token of the token endpoint's answers (to test that they are refused). */
export interface IdTokenTamper {
  aud?: string;
  nonce?: string;
  /** Replaces the `state` of the redirect back to the client. */
  state?: string;
}

export interface TestProvider {
  /** The issuer: a proxy on 127.0.0.1 in front of the provider. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Set to change the next ID tokens; null passes them as they are. */
  tamper: IdTokenTamper | null;
  close(): Promise<void>;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function tamperIdToken(body: string, change: IdTokenTamper): string {
  const answer = JSON.parse(body) as { id_token?: string };
  if (!answer.id_token) return body;
  const [header, payload, signature] = answer.id_token.split('.');
  const { state: _, ...claimChanges } = change;
  const claims = { ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), ...claimChanges };
  answer.id_token = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
  return JSON.stringify(answer);
}

/**
 * `oidc-provider` on 127.0.0.1 with its development login pages (any login name, any password), one confidential
 * client, and `groups` for each account as `groups(login)` says. A proxy in front of it is the issuer, so that a
 * test can change the ID tokens it hands out.
 */
export async function startTestProvider(options: {
  redirectUri: string;
  groups(login: string): string[];
}): Promise<TestProvider> {
  const proxy = http.createServer();
  const proxyPort = await listen(proxy);
  const issuer = `http://127.0.0.1:${proxyPort}`;
  const clientId = 'simscope';
  const clientSecret = 'a-test-client-secret-of-some-length';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    claims: { openid: ['sub'], profile: ['preferred_username'], email: ['email'], groups: ['groups'] },
    conformIdTokenClaims: false,
    cookies: { keys: ['test-cookie-key'] },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        claims: async () => ({
          sub: id,
          preferred_username: id,
          email: `${id}@example.org`,
          groups: options.groups(id),
        }),
      };
    },
  });
  const backend = http.createServer(provider.callback());
  const backendPort = await listen(backend);
  const state: TestProvider = {
    issuer,
    clientId,
    clientSecret,
    tamper: null,
    close: async () => {
      await new Promise((resolve) => proxy.close(resolve));
      await new Promise((resolve) => backend.close(resolve));
    },
  };
  proxy.on('request', (req, res) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const change = state.tamper;
        const location = answer.headers.location;
        if (change?.state && location?.startsWith(options.redirectUri)) {
          const back = new URL(location);
          back.searchParams.set('state', change.state);
          answer.headers.location = back.href;
        }
        if (!change || req.url !== '/token' || answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const body = tamperIdToken(Buffer.concat(chunks).toString(), change);
          res.writeHead(200, { ...answer.headers, 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return state;
}

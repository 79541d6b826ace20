import type { FastifyInstance } from 'fastify';

/** A user made through the admin API: their name, id and a read+write token. */
export interface Member {
  name: string;
  id: string;
  token: string;
}

/** Calls the API with a token (and workspace header), JSON in and out. */
export async function api(
  app: FastifyInstance,
  token: string,
  method: string,
  url: string,
  payload?: unknown,
  workspace?: string,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (workspace) headers['simscope-workspace'] = workspace;
  const res = await app.inject({
    method: method as 'GET',
    url: `/api/v1${url}`,
    headers,
    ...(payload === undefined ? {} : { payload: payload as string }),
  });
  return { status: res.statusCode, body: res.body ? res.json() : undefined };
}

/** Makes a user with a read+write token, a member of `workspace` with `role` unless role is null. */
export async function makeMember(
  app: FastifyInstance,
  adminToken: string,
  name: string,
  workspace: string,
  role: 'owner' | 'editor' | 'viewer' | null,
): Promise<Member> {
  const user = await api(app, adminToken, 'POST', '/admin/users', { name });
  if (user.status !== 201) throw new Error(`user ${name}: ${JSON.stringify(user.body)}`);
  if (role !== null) {
    const added = await api(app, adminToken, 'POST', `/admin/workspaces/${workspace}/members`, {
      user: name,
      role,
    });
    if (added.status !== 201) throw new Error(`member ${name}: ${JSON.stringify(added.body)}`);
  }
  const token = await api(app, adminToken, 'POST', '/admin/tokens', {
    user: name,
    name: `${name}-token`,
    scopes: ['read', 'write'],
  });
  if (token.status !== 201) throw new Error(`token ${name}: ${JSON.stringify(token.body)}`);
  return { name, id: user.body.id, token: token.body.token };
}

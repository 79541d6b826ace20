import { apiRoute, type ProcessView } from '@simscope/protocol';
import type { RouteKit } from './kit.js';

function processView(collect: boolean): ProcessView {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (collect && gc) gc();
  const m = process.memoryUsage();
  return {
    pid: process.pid,
    uptime: process.uptime(),
    gc: collect && gc !== undefined,
    memory: {
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
    },
  };
}

/** Users, workspaces, members and tokens under `/admin`, and the process view. */
export function registerAdminRoutes({ register, admin, artifacts, store }: RouteKit): void {
  register(apiRoute('adminProcess'), async ({ input }) => processView(input.query.gc));
  register(apiRoute('createUser'), async ({ input, reply }) =>
    reply.status(201).send(await admin.createUser(input.body)),
  );
  register(apiRoute('listUsers'), async () => ({ items: await admin.listUsers() }));
  register(apiRoute('deleteUser'), async ({ input, reply }) => {
    await admin.deleteUser(input.params.user);
    return reply.status(204).send();
  });
  register(apiRoute('createWorkspace'), async ({ input, reply }) =>
    reply.status(201).send(await admin.createWorkspace(input.body)),
  );
  register(apiRoute('listWorkspaces'), async () => ({ items: await admin.listWorkspaces() }));
  register(apiRoute('deleteWorkspace'), async ({ input, reply }) => {
    await admin.deleteWorkspace(input.params.workspace);
    await artifacts.collect(store);
    return reply.status(204).send();
  });
  register(apiRoute('addMember'), async ({ input, reply }) =>
    reply.status(201).send({ items: await admin.addMember(input.params.workspace, input.body) }),
  );
  register(apiRoute('listMembers'), async ({ input }) => ({
    items: await admin.listMembers(input.params.workspace),
  }));
  register(apiRoute('removeMember'), async ({ input, reply }) => {
    await admin.removeMember(input.params.workspace, input.params.user);
    return reply.status(204).send();
  });
  register(apiRoute('createToken'), async ({ input, reply }) =>
    reply.status(201).send(await admin.createToken(input.body)),
  );
  register(apiRoute('listTokens'), async ({ input }) => ({
    items: await admin.listTokens(input.query.user),
  }));
  register(apiRoute('revokeToken'), async ({ input, reply }) => {
    await admin.revokeToken(input.params.token);
    return reply.status(204).send();
  });
}

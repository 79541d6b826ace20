import { apiRoute } from '@simscope/protocol';
import type { AccessService } from '../../services/access-service.js';
import type { RouteKit } from './kit.js';

/** Members and roles, invite links, share links and the audit log (owners; the whole log for admins). */
export function registerAccessRoutes(kit: RouteKit, access: AccessService): void {
  const { register, ctx, store, now } = kit;
  register(apiRoute('listWorkspaceMembers'), async ({ request }) => ({
    items: await access.listMembers(ctx(request)),
  }));
  register(apiRoute('setMemberRole'), async ({ input, request }) =>
    access.setRole(ctx(request), input.params.user, input.body.role),
  );
  register(apiRoute('removeWorkspaceMember'), async ({ input, request, reply }) => {
    await access.removeMember(ctx(request), input.params.user);
    return reply.status(204).send();
  });
  register(apiRoute('createInvite'), async ({ input, request, reply }) =>
    reply.status(201).send(await access.createInvite(ctx(request), input.body)),
  );
  register(apiRoute('listInvites'), async ({ request }) => ({
    items: await access.listInvites(ctx(request)),
  }));
  register(apiRoute('revokeInvite'), async ({ input, request, reply }) => {
    await access.revokeInvite(ctx(request), input.params.invite);
    return reply.status(204).send();
  });
  register(apiRoute('acceptInvite'), async ({ input, request }) =>
    access.acceptInvite(store, ctx(request).auth.user, input.body.token, now()),
  );
  register(apiRoute('createShare'), async ({ input, request, reply }) =>
    reply.status(201).send(await access.createShare(ctx(request), input.body)),
  );
  register(apiRoute('listShares'), async ({ request }) => ({ items: await access.listShares(ctx(request)) }));
  register(apiRoute('revokeShare'), async ({ input, request, reply }) => {
    await access.revokeShare(ctx(request), input.params.share);
    return reply.status(204).send();
  });
  register(apiRoute('sharedItems'), async ({ request }) => access.shared(ctx(request)));
  register(apiRoute('listAudit'), async ({ input, request }) =>
    access.audit(store, ctx(request).auth.workspace.id, { limit: input.query.limit, next: input.query.next }),
  );
  register(apiRoute('listAllAudit'), async ({ input }) => {
    const named = input.query.workspace;
    const workspace = named === null ? null : ((await store.identity.getWorkspace(named))?.id ?? named);
    return access.audit(store, workspace, { limit: input.query.limit, next: input.query.next });
  });
}

import { apiRoute } from '@simscope/protocol';
import { FolderService } from '../../services/folder-service.js';
import type { RouteKit } from './kit.js';

/** Folders: create (with parents), list, read, change and delete. */
export function registerFolderRoutes({ register, ctx, artifacts, store }: RouteKit): void {
  const folders = new FolderService();
  register(apiRoute('createFolder'), async ({ input, request, reply }) =>
    reply.status(201).send(await folders.create(ctx(request), input.body)),
  );
  register(apiRoute('listFolders'), async ({ input, request }) => folders.list(ctx(request), input.query));
  register(apiRoute('getFolder'), async ({ input, request }) =>
    folders.get(ctx(request), input.params.folder),
  );
  register(apiRoute('updateFolder'), async ({ input, request }) =>
    folders.update(ctx(request), input.params.folder, input.body),
  );
  register(apiRoute('deleteFolder'), async ({ input, request }) => {
    const deleted = await folders.delete(ctx(request), input.params.folder, input.query.recursive);
    await artifacts.collect(store);
    return deleted;
  });
}

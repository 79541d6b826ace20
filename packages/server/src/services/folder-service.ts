import type { FolderView, folderCreateSchema, folderUpdateSchema } from '@simscope/protocol';
import type { z } from 'zod';
import type { FolderRecord, JsonObject } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, pageOf } from './cursor.js';
import { ConflictError, NotFoundError } from './errors.js';
import { mergeMetadata } from './run-service.js';

function view(f: FolderRecord): FolderView {
  return {
    id: f.id,
    path: f.path,
    description: f.description,
    tags: f.tags,
    metadata: f.metadata,
    created: f.createdAt,
  };
}

/** Folders: created with their parents on first use, described, listed and deleted. */
export class FolderService {
  async find(ctx: ServiceContext, idOrPath: string): Promise<FolderRecord> {
    const folder = await ctx.store.folders.getFolder(ctx.auth.workspace.id, idOrPath);
    if (!folder) throw new NotFoundError('folder', idOrPath);
    return folder;
  }

  async get(ctx: ServiceContext, idOrPath: string): Promise<FolderView> {
    return view(await this.find(ctx, idOrPath));
  }

  async create(ctx: ServiceContext, body: z.output<typeof folderCreateSchema>): Promise<FolderView> {
    const input = body;
    const folder = await ctx.store.folders.ensureFolder(ctx.auth.workspace.id, input.path, ctx.now());
    if (input.description !== undefined || input.tags !== undefined || input.metadata !== undefined) {
      return this.update(ctx, folder.id, {
        description: input.description,
        tags: input.tags,
        metadata: input.metadata,
      });
    }
    ctx.bus.publish({ type: 'folder.changed', workspaceId: folder.workspaceId, path: folder.path });
    return view(folder);
  }

  async list(
    ctx: ServiceContext,
    query: { parent?: string; prefix?: string; path?: string; limit: number; next?: string },
  ): Promise<{ items: FolderView[]; next: string | null }> {
    const { limit } = query;
    if (query.path !== undefined) {
      const folder = await ctx.store.folders.getFolder(ctx.auth.workspace.id, query.path);
      return { items: folder ? [view(folder)] : [], next: null };
    }
    const after = query.next ? decodeCursor(query.next, ['string'])[0] : null;
    const rows = await ctx.store.folders.listFolders(ctx.auth.workspace.id, {
      parent: query.parent ?? null,
      prefix: query.prefix ?? null,
      after,
      limit: limit + 1,
    });
    return pageOf(rows, limit, view, (last) => [last.path]);
  }

  async update(
    ctx: ServiceContext,
    idOrPath: string,
    body: z.output<typeof folderUpdateSchema>,
  ): Promise<FolderView> {
    const input = body;
    const folder = await this.find(ctx, idOrPath);
    await ctx.store.folders.updateFolder(ctx.auth.workspace.id, folder.pk, {
      description: input.description,
      tags: input.tags === undefined ? undefined : [...new Set(input.tags)],
      metadata:
        input.metadata === undefined
          ? undefined
          : mergeMetadata(folder.metadata, input.metadata as JsonObject),
    });
    ctx.bus.publish({ type: 'folder.changed', workspaceId: folder.workspaceId, path: folder.path });
    return view(await this.find(ctx, folder.id));
  }

  /** Deletes an empty folder, or with `recursive` the folder, its subfolders and their runs. */
  async delete(ctx: ServiceContext, idOrPath: string, recursive: boolean): Promise<{ runsDeleted: number }> {
    const folder = await this.find(ctx, idOrPath);
    if (folder.path === '/' && !recursive) {
      throw new ConflictError("the root folder '/' cannot be deleted; pass recursive=true to empty it");
    }
    if (!recursive && !(await ctx.store.folders.folderIsEmpty(ctx.auth.workspace.id, folder))) {
      throw new ConflictError(
        `folder '${folder.path}' is not empty; pass recursive=true to delete its contents too`,
      );
    }
    const runsDeleted = await ctx.store.folders.deleteFolder(ctx.auth.workspace.id, folder, recursive);
    ctx.bus.publish({ type: 'folder.changed', workspaceId: folder.workspaceId, path: folder.path });
    return { runsDeleted };
  }
}

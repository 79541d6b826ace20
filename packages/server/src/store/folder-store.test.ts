import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../../../test/fixtures.js';
import { useTestStore } from '../../../../test/store-fixtures.js';
import type { FolderQuery } from './folder-store.js';

const ALL: FolderQuery = { parent: null, prefix: null, after: null, limit: 100 };

describe.each(BACKENDS)('folder store on %s', (backend) => {
  const t = useTestStore(backend);

  it('creates a folder with its parents once, and finds it by id or path only in its workspace', async () => {
    const ws = await t.newWorkspace();
    const deep = await t.store.folders.ensureFolder(ws, '/a/b/c', 7);
    expect(deep).toMatchObject({
      path: '/a/b/c',
      workspaceId: ws,
      description: null,
      tags: [],
      metadata: {},
      createdAt: 7,
    });
    expect(await t.store.folders.ensureFolder(ws, '/a/b/c', 8)).toEqual(deep);
    const paths = (await t.store.folders.listFolders(ws, ALL)).map((f) => f.path);
    expect(paths).toEqual(['/', '/a', '/a/b', '/a/b/c']);
    const parent = await t.store.folders.getFolder(ws, '/a/b');
    expect(deep.parentPk).toBe(parent!.pk);
    expect(await t.store.folders.getFolder(ws, deep.id)).toEqual(deep);
    expect(await t.store.folders.getFolder(await t.newWorkspace(), deep.id)).toBeUndefined();
  });

  it('lists by parent, by prefix (whole segments) and after a path, in path order', async () => {
    const ws = await t.newWorkspace();
    for (const path of ['/a/x', '/a/y', '/ab', '/b']) await t.store.folders.ensureFolder(ws, path, 1);
    const list = async (query: Partial<FolderQuery>) =>
      (await t.store.folders.listFolders(ws, { ...ALL, ...query })).map((f) => f.path);
    expect(await list({ parent: '/' })).toEqual(['/a', '/ab', '/b']);
    expect(await list({ parent: '/a' })).toEqual(['/a/x', '/a/y']);
    expect(await list({ prefix: '/a' })).toEqual(['/a', '/a/x', '/a/y']);
    expect(await list({ prefix: '/' })).toEqual(['/', '/a', '/a/x', '/a/y', '/ab', '/b']);
    expect(await list({ after: '/a/x', limit: 2 })).toEqual(['/a/y', '/ab']);
  });

  it('updates only the given fields', async () => {
    const ws = await t.newWorkspace();
    const folder = await t.store.folders.ensureFolder(ws, '/f', 1);
    await t.store.folders.updateFolder(ws, folder.pk, { description: 'd', tags: ['t'] });
    await t.store.folders.updateFolder(ws, folder.pk, { metadata: { k: [1] } });
    await t.store.folders.updateFolder(ws, folder.pk, {});
    expect(await t.store.folders.getFolder(ws, '/f')).toEqual({
      ...folder,
      description: 'd',
      tags: ['t'],
      metadata: { k: [1] },
    });
    await t.store.folders.updateFolder(await t.newWorkspace(), folder.pk, { description: 'other' });
    expect((await t.store.folders.getFolder(ws, '/f'))?.description).toBe('d');
  });

  it('tells an empty folder, and deletes one alone or with its subtree and runs', async () => {
    const ws = await t.newWorkspace();
    const a = await t.store.folders.ensureFolder(ws, '/a', 1);
    const empty = await t.store.folders.ensureFolder(ws, '/e', 1);
    await t.newRun(ws, { folder: '/a/b' });
    await t.newRun(ws, { folder: '/a' });
    const kept = await t.newRun(ws, { folder: '/ab' });
    expect(await t.store.folders.folderIsEmpty(ws, a)).toBe(false);
    expect(await t.store.folders.folderIsEmpty(ws, (await t.store.folders.getFolder(ws, '/a/b'))!)).toBe(
      false,
    );
    expect(await t.store.folders.folderIsEmpty(ws, empty)).toBe(true);
    expect(await t.store.folders.deleteFolder(ws, empty, false)).toBe(0);
    expect(await t.store.folders.deleteFolder(await t.newWorkspace(), a, true)).toBe(0);
    expect(await t.store.folders.deleteFolder(ws, a, true)).toBe(2);
    expect((await t.store.folders.listFolders(ws, ALL)).map((f) => f.path)).toEqual(['/', '/ab']);
    expect((await t.store.runs.getRun(ws, kept.id))?.folder).toBe('/ab');
    const root = (await t.store.folders.getFolder(ws, '/'))!;
    expect(await t.store.folders.deleteFolder(ws, root, true)).toBe(1);
    expect((await t.store.folders.listFolders(ws, ALL)).map((f) => f.path)).toEqual(['/']);
  });
});

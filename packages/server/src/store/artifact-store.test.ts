import { SimscopeError } from '@simscope/protocol';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../../../test/fixtures.js';
import { useTestStore } from '../../../../test/store-fixtures.js';
import type { ArtifactQuery, NewArtifact } from './artifact-store.js';

const ALL: ArtifactQuery = {
  category: null,
  name: null,
  startsWith: null,
  contains: null,
  endsWith: null,
  after: null,
  limit: 100,
};

describe.each(BACKENDS)('artifact store on %s', (backend) => {
  const t = useTestStore(backend);
  const placed: boolean[] = [];
  const save = (artifact: NewArtifact, quota: number | null = null) =>
    t.store.artifacts.saveArtifact(artifact, { quota, place: async (created) => void placed.push(created) });

  async function artifactOf(name: string, sha256: string, size: number, workspaceId?: string) {
    const run = await t.newRun(workspaceId);
    const artifact: NewArtifact = {
      runPk: run.pk,
      workspaceId: run.workspaceId,
      name,
      category: 'output',
      mimeType: 'text/plain',
      size,
      sha256,
      metadata: { n: 1 },
      createdAt: 5,
    };
    return { run, artifact };
  }

  it('saves, replaces and deletes artifacts; a blob row is made once and queued when no longer referenced', async () => {
    placed.length = 0;
    const { run, artifact } = await artifactOf('out.txt', 'a'.repeat(64), 10);
    const first = await save(artifact);
    expect(first.replaced).toBeNull();
    expect(await t.store.artifacts.getArtifact(run.pk, 'out.txt')).toEqual(first.artifact);
    const second = await save({ ...artifact, sha256: 'b'.repeat(64), size: 20, category: 'code' });
    expect(second.replaced).toEqual(first.artifact);
    expect(await save({ ...artifact, name: 'copy.txt' })).toMatchObject({ replaced: null });
    expect(placed).toEqual([true, true, false]);
    expect(await t.store.artifacts.artifactBytes(run.workspaceId)).toBe(30);
    expect(await t.store.artifacts.hasBlob('a'.repeat(64))).toBe(true);
    expect(await t.store.artifacts.hasBlob('a'.repeat(64), run.workspaceId)).toBe(true);
    expect(await t.store.artifacts.hasBlob('a'.repeat(64), await t.newWorkspace())).toBe(false);
    expect([...(await t.store.artifacts.knownBlobs(['b'.repeat(64), 'c'.repeat(64)]))]).toEqual([
      'b'.repeat(64),
    ]);

    expect(await t.store.artifacts.deleteArtifact(run.pk, 'copy.txt')).toBe(true);
    expect(await t.store.artifacts.deleteArtifact(run.pk, 'copy.txt')).toBe(false);
    expect(await t.store.artifacts.queuedBlobs(10)).toEqual(['a'.repeat(64)]);
    const removed: string[] = [];
    expect(await t.store.artifacts.freeBlob('a'.repeat(64), async () => void removed.push('a'))).toBe(
      'freed',
    );
    expect(await t.store.artifacts.freeBlob('a'.repeat(64), async () => void removed.push('again'))).toBe(
      'gone',
    );
    expect(removed).toEqual(['a']);
    expect(await t.store.artifacts.queuedBlobs(10)).toEqual([]);
    expect(await t.store.artifacts.queueUnreferencedBlobs()).toBe(0);
  });

  it('keeps a blob that an artifact references again, and queues the blobs of a deleted run', async () => {
    const { run, artifact } = await artifactOf('x', 'd'.repeat(64), 4);
    await save(artifact);
    await t.store.artifacts.deleteArtifact(run.pk, 'x');
    await save({ ...artifact, name: 'y' });
    expect(await t.store.artifacts.freeBlob('d'.repeat(64), async () => {})).toBe('in_use');
    expect(await t.store.artifacts.queuedBlobs(10)).toEqual([]);
    expect(await t.store.artifacts.queueUnreferencedBlobs()).toBe(0);
    // Deleting the run deletes its artifacts, which queues their blobs.
    await t.store.runs.deleteRun(run.workspaceId, run.pk);
    expect(await t.store.artifacts.queuedBlobs(10)).toEqual(['d'.repeat(64)]);
    expect(await t.store.artifacts.freeBlob('d'.repeat(64), async () => {})).toBe('freed');
    expect(await t.store.artifacts.hasBlob('d'.repeat(64))).toBe(false);
  });

  it('refuses a save past the workspace quota, counting each blob once and what a replace frees', async () => {
    const { run, artifact } = await artifactOf('a', 'e'.repeat(64), 60);
    await save(artifact, 100);
    await save({ ...artifact, name: 'same-bytes' }, 100);
    await save({ ...artifact, sha256: 'f'.repeat(64), size: 90 }, 150);
    const error = await save({ ...artifact, name: 'big', sha256: '1'.repeat(64), size: 70 }, 200).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SimscopeError);
    expect((error as SimscopeError).code).toBe('quota_exceeded');
    expect((error as SimscopeError).details).toEqual({ field: 'size', quota: 200, used: 150, size: 70 });
    expect(await t.store.artifacts.getArtifact(run.pk, 'big')).toBeUndefined();
    expect(await t.store.artifacts.artifactBytes(run.workspaceId)).toBe(150);
  });

  it("lists a run's artifacts by category and name tests, paged in byte order", async () => {
    const { run, artifact } = await artifactOf('b.txt', '2'.repeat(64), 1);
    for (const [name, category] of [
      ['b.txt', 'output'],
      ['B.log', 'code'],
      ['a/é.txt', 'input'],
      ['c.txt', 'output'],
    ] as const) {
      await save({ ...artifact, name, category });
    }
    const list = async (query: Partial<ArtifactQuery>) =>
      (await t.store.artifacts.listArtifacts(run.pk, { ...ALL, ...query })).map((a) => a.name);
    expect(await list({})).toEqual(['B.log', 'a/é.txt', 'b.txt', 'c.txt']);
    expect(await list({ category: 'output' })).toEqual(['b.txt', 'c.txt']);
    expect(await list({ name: 'c.txt' })).toEqual(['c.txt']);
    expect(await list({ startsWith: 'a/é' })).toEqual(['a/é.txt']);
    expect(await list({ contains: '.t' })).toEqual(['a/é.txt', 'b.txt', 'c.txt']);
    expect(await list({ endsWith: 'é.txt' })).toEqual(['a/é.txt']);
    expect(await list({ after: 'a/é.txt', limit: 1 })).toEqual(['b.txt']);
    const other = await t.newRun(run.workspaceId);
    expect(await t.store.artifacts.listArtifacts(other.pk, ALL)).toEqual([]);
  });

  it('answers not_found when the run is gone before its artifact row is written', async () => {
    const { run, artifact } = await artifactOf('late', '3'.repeat(64), 1);
    await t.store.runs.deleteRun(run.workspaceId, run.pk);
    const error = await save(artifact).catch((e: unknown) => e);
    expect((error as SimscopeError).code).toBe('not_found');
  });
});

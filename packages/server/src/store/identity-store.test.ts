import { SimscopeError } from '@simscope/protocol';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../../../test/fixtures.js';
import { useTestStore } from '../../../../test/store-fixtures.js';
import type { TokenRecord, UserRecord } from './identity-store.js';

const user = (id: string, name = id, createdAt = 1): UserRecord => ({
  id,
  name,
  email: `${name}@example.org`,
  isAdmin: false,
  createdAt,
});

const token = (id: string, userId: string, createdAt = 1): TokenRecord => ({
  id,
  userId,
  name: `token ${id}`,
  scopes: ['read', 'write'],
  createdAt,
  expiresAt: 99,
  revokedAt: null,
});

describe.each(BACKENDS)('identity store on %s', (backend) => {
  const t = useTestStore(backend);

  it('creates, finds (id before name), lists in creation order and deletes users; conflict on a taken name', async () => {
    const { identity } = t.store;
    expect(await identity.countUsers()).toBe(0);
    await identity.createUser(user('u2', 'bob', 2));
    await identity.createUser({ ...user('u1', 'u2', 1), isAdmin: true, email: null });
    expect(await identity.countUsers()).toBe(2);
    expect(await identity.getUser('u2')).toEqual(user('u2', 'bob', 2));
    expect(await identity.getUser('bob')).toEqual(user('u2', 'bob', 2));
    expect(await identity.getUser('u1')).toEqual({ ...user('u1', 'u2', 1), isAdmin: true, email: null });
    expect((await identity.listUsers()).map((u) => u.id)).toEqual(['u1', 'u2']);
    const error = await identity.createUser(user('u3', 'bob')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimscopeError);
    expect([(error as SimscopeError).code, (error as SimscopeError).message]).toEqual([
      'conflict',
      "user 'bob' already exists",
    ]);
    expect((error as SimscopeError).details).toEqual({ field: 'name' });
    expect(await identity.deleteUser('u2')).toBe(true);
    expect(await identity.deleteUser('u2')).toBe(false);
    expect(await identity.getUser('bob')).toBeUndefined();
  });

  it("keeps workspaces and memberships: members and a user's workspaces in joining order, each once", async () => {
    const { identity } = t.store;
    await identity.createUser(user('a'));
    await identity.createUser(user('b'));
    await identity.createWorkspace({ id: 'w1', name: 'one', createdAt: 1 });
    await identity.createWorkspace({ id: 'w2', name: 'two', createdAt: 2 });
    const error = await identity
      .createWorkspace({ id: 'w3', name: 'one', createdAt: 3 })
      .catch((e: unknown) => e);
    expect((error as SimscopeError).message).toBe("workspace 'one' already exists");
    expect(await identity.getWorkspace('two')).toEqual({ id: 'w2', name: 'two', createdAt: 2 });
    expect((await identity.listWorkspaces()).map((w) => w.id)).toEqual(['w1', 'w2']);
    await identity.addMember('w2', 'a', 1);
    await identity.addMember('w1', 'a', 2);
    await identity.addMember('w1', 'b', 3);
    await identity.addMember('w1', 'a', 4);
    expect((await identity.listMembers('w1')).map((u) => u.id)).toEqual(['a', 'b']);
    expect((await identity.listUserWorkspaces('a')).map((w) => w.id)).toEqual(['w2', 'w1']);
    expect(await identity.removeMember('w1', 'a')).toBe(true);
    expect(await identity.removeMember('w1', 'a')).toBe(false);
    expect((await identity.listUserWorkspaces('a')).map((w) => w.id)).toEqual(['w2']);
    expect(await identity.deleteWorkspace('w2')).toBe(true);
    expect(await identity.listUserWorkspaces('a')).toEqual([]);
    expect(await identity.deleteWorkspace('w2')).toBe(false);
  });

  it('finds a token by its hash with its user, lists tokens per user or all, and revokes once', async () => {
    const { identity } = t.store;
    await identity.createUser(user('a'));
    await identity.createUser(user('b'));
    await identity.createToken(token('t1', 'a', 1), 'hash-1');
    await identity.createToken(token('t2', 'b', 2), 'hash-2');
    await identity.createToken(token('t3', 'a', 3), 'hash-3');
    expect(await identity.findToken('hash-2')).toEqual({ token: token('t2', 'b', 2), user: user('b') });
    expect(await identity.findToken('nope')).toBeUndefined();
    expect((await identity.listTokens('a')).map((x) => x.id)).toEqual(['t1', 't3']);
    expect((await identity.listTokens(null)).map((x) => x.id)).toEqual(['t1', 't2', 't3']);
    expect(await identity.revokeToken('t1', 50)).toBe(true);
    expect(await identity.revokeToken('t1', 60)).toBe(false);
    expect((await identity.findToken('hash-1'))?.token.revokedAt).toBe(50);
  });
});

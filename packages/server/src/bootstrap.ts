import { readTomlFile, updateTomlFile } from '@simscope/config';
import { hashToken, newId, newToken } from './services/auth-service.js';
import type { Store } from './store/store.js';

export interface BootstrapResult {
  /** The admin token when this start created it (or it was fixed by `SIMSCOPE_BOOTSTRAP_TOKEN`). */
  token: string | null;
}

/**
 * On the first start (no users yet) creates the `admin` user, the `default` workspace and an admin token,
 * `fixedToken` when given.
 */
export async function bootstrap(store: Store, now: number, fixedToken?: string): Promise<BootstrapResult> {
  if ((await store.identity.countUsers()) > 0) return { token: null };
  const user = { id: newId(), name: 'admin', email: null, isAdmin: true, createdAt: now };
  const workspace = { id: newId(), name: 'default', createdAt: now };
  await store.identity.createUser(user);
  await store.identity.createWorkspace(workspace);
  await store.identity.addMember(workspace.id, user.id, now);
  await store.access.changeRole(workspace.id, user.id, 'owner');
  const token = fixedToken || newToken();
  await store.identity.createToken(
    {
      id: newId(),
      userId: user.id,
      name: 'bootstrap',
      scopes: ['read', 'write', 'admin'],
      createdAt: now,
      expiresAt: null,
      revokedAt: null,
    },
    hashToken(token),
  );
  return { token };
}

type Profiles = Record<string, { url?: unknown; token?: unknown }>;

/** Writes `url` and `token` as profile `local` (the default when none is set) of the user config, mode 0600. */
export function saveLocalProfile(file: string, url: string, token: string): void {
  updateTomlFile(file, (doc) => {
    doc.profiles = { ...(doc.profiles as Profiles | undefined), local: { url, token } };
    doc.default_profile ??= 'local';
  });
}

/** The token the user config keeps for `url`, if any. */
export function savedToken(file: string, url: string): string | undefined {
  try {
    const profiles = (readTomlFile(file).profiles ?? {}) as Profiles;
    const token = Object.values(profiles).find((p) => p.url === url)?.token;
    return typeof token === 'string' ? token : undefined;
  } catch {
    return undefined;
  }
}

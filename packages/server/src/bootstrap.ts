import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
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
  if ((await store.countUsers()) > 0) return { token: null };
  const user = { id: newId(), name: 'admin', email: null, isAdmin: true, createdAt: now };
  const workspace = { id: newId(), name: 'default', createdAt: now };
  await store.createUser(user);
  await store.createWorkspace(workspace);
  await store.addMember(workspace.id, user.id, now);
  const token = fixedToken || newToken();
  await store.createToken(
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

type ConfigDoc = {
  default_profile?: string;
  profiles?: Record<string, { url?: string; token?: string }>;
} & Record<string, unknown>;

function readConfig(file: string): ConfigDoc {
  if (!existsSync(file)) return {};
  return parseToml(readFileSync(file, 'utf8')) as ConfigDoc;
}

/** Writes `url` and `token` as profile `local` (the default when none is set) of the user config, mode 0600. */
export function saveLocalProfile(file: string, url: string, token: string): void {
  const doc = readConfig(file);
  doc.profiles = { ...(doc.profiles ?? {}), local: { url, token } };
  doc.default_profile ??= 'local';
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, stringifyToml(doc), { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The token the user config keeps for `url`, if any. */
export function savedToken(file: string, url: string): string | undefined {
  try {
    const profiles = readConfig(file).profiles ?? {};
    return Object.values(profiles).find((p) => p.url === url)?.token;
  } catch {
    return undefined;
  }
}

import { apiRoute, type Me, type ReadyView } from '@simscope/protocol';
import type { BlobStore } from '../../blob/blob-store.js';
import { docsPage, openApiDocument } from '../openapi.js';
import { authOf } from '../request-auth.js';
import type { RouteKit } from './kit.js';
import type { RouteRegistry } from './register.js';

export const SERVER_VERSION = '0.1.0';

/** What `/ready` looks at besides the store. */
export interface ReadinessProbe {
  blobs?: BlobStore | undefined;
  /** True once the server is shutting down. */
  draining?: () => boolean;
}

/** A blob name no upload has: asking for it tells whether the blob store answers. */
const PROBE_BLOB = '0'.repeat(64);

/** `/version`, `/health`, `/ready`, `/openapi.json`, `/docs` (the docs of every registered route) and `/me`. */
export function registerMetaRoutes(
  { register, store }: RouteKit,
  registry: RouteRegistry,
  probe: ReadinessProbe = {},
): void {
  register(apiRoute('version'), async function version() {
    return { name: 'simscope', version: SERVER_VERSION, api: 'v1', store: store.backend };
  });
  register(apiRoute('health'), async function health() {
    return { ok: true };
  });
  register(apiRoute('ready'), async function ready({ reply }): Promise<ReadyView> {
    const [migrations, blobs] = await Promise.all([
      store.migrationsDone().catch(() => undefined),
      probe.blobs
        ? probe.blobs.has(PROBE_BLOB).then(
            () => true,
            () => false,
          )
        : true,
    ]);
    const draining = probe.draining?.() ?? false;
    const view = { database: migrations !== undefined, migrations: migrations === true, blobs, draining };
    const ok = view.database && view.migrations && blobs && !draining;
    reply.code(ok ? 200 : 503);
    return { ok, ...view };
  });
  register(apiRoute('openApi'), async function openApi() {
    return openApiDocument(registry.routes, SERVER_VERSION);
  });
  register(apiRoute('docs'), async function docs({ reply }) {
    return reply.type('text/html; charset=utf-8').send(docsPage(registry.routes, SERVER_VERSION));
  });
  register(apiRoute('me'), async function me({ request }): Promise<Me> {
    const a = authOf(request);
    return {
      user: { id: a.user.id, name: a.user.name, email: a.user.email, admin: a.user.isAdmin },
      token: { id: a.token.id, name: a.token.name, scopes: a.token.scopes, expires: a.token.expiresAt },
      workspace: { id: a.workspace.id, name: a.workspace.name, role: a.role ?? 'viewer' },
      workspaces: (await store.identity.listUserWorkspaces(a.user.id)).map((w) => ({
        id: w.id,
        name: w.name,
      })),
    };
  });
}

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { API_PREFIX } from '@simscope/protocol';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** Vite's output folder for hashed files; nothing else under it is a page. */
const ASSETS = '/assets/';

interface StaticFile {
  body: Buffer;
  type: string;
  immutable: boolean;
}

function readTree(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && statSync(path).size < 32 * 1024 * 1024) {
        const url = `/${relative(root, path).split(sep).join('/')}`;
        files.set(url, {
          body: readFileSync(path),
          type: TYPES[extname(path)] ?? 'application/octet-stream',
          immutable: url.startsWith(ASSETS),
        });
      }
    }
  };
  walk(root);
  return files;
}

function notBuiltPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Simscope</title></head><body style="font:15px system-ui,sans-serif;margin:2rem"><h1>Simscope</h1><p>The web UI is not built: run <code>npm run build</code> and restart the server.</p><p>The REST API is served; see <a href="${API_PREFIX}/docs">${API_PREFIX}/docs</a>.</p></body></html>`;
}

/** Whether a request takes an HTML page: browsers navigating say so; a request with no Accept takes anything. */
function acceptsHtml(accept: string | undefined): boolean {
  return accept === undefined || accept.includes('text/html') || accept.includes('*/*');
}

/**
 * Serves the built web UI (`packages/web/dist`) at `/`: its files, and `index.html` for every other page path
 * so that the UI's own routes load. Paths are routed by prefix, never by extension (run and folder names may
 * hold dots): only the built files are files, a missing `/assets/…` is a 404, and paths under the API keep the
 * API's 404. The security headers come from the app's helmet. Returns whether the UI is built.
 */
export function registerWebUi(app: FastifyInstance, root: string | null | undefined): boolean {
  const built = !!root && existsSync(join(root, 'index.html'));
  const files = built ? readTree(root) : new Map<string, StaticFile>();
  const index = files.get('/index.html');

  app.get('/*', function serveWebUi(request, reply) {
    let path: string;
    try {
      path = decodeURIComponent(request.url.split('?')[0] ?? '');
    } catch {
      return reply.callNotFound();
    }
    if (path === API_PREFIX || path.startsWith(`${API_PREFIX}/`)) return reply.callNotFound();
    const file = files.get(path);
    if (file && path !== '/index.html') {
      reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply.type(file.type).send(file.body);
    }
    if (path.startsWith(ASSETS) || !acceptsHtml(request.headers.accept)) return reply.callNotFound();
    reply.header('cache-control', 'no-cache');
    return reply.type('text/html; charset=utf-8').send(index ? index.body : notBuiltPage());
  });
  return built;
}

import type { RouteSchemas, RouteSpec } from '@simscope/protocol';
import { z } from 'zod';

/** A route of the table as the docs see it. */
export type RouteDoc = RouteSpec & RouteSchemas;

function toOpenApiPath(url: string): string {
  return url.replace(/:([A-Za-z]+)/g, '{$1}');
}

/** The OpenAPI 3.1 document of the routes of the table that the server registered. */
export function openApiDocument(routes: readonly RouteDoc[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const query = Object.entries(r.query ?? {}).map(([name, description]) => ({
      name,
      in: 'query',
      required: false,
      description,
      schema: { type: 'string' },
    }));
    const op: Record<string, unknown> = {
      summary: r.summary,
      parameters: [...params, ...query],
      security: r.scope === 'none' ? [] : [{ bearer: [] }],
      responses: {
        '200': { description: 'OK' },
        '4XX': { description: 'Error: { "error": { "code", "message", "details"? } }' },
      },
    };
    if (r.bodySchema && !r.bodyDescription) {
      op.requestBody = {
        content: {
          'application/json': {
            schema: z.toJSONSchema(r.bodySchema, { unrepresentable: 'any', io: 'input' }),
          },
        },
      };
    } else if (r.bodyDescription) {
      op.requestBody = {
        description: r.bodyDescription,
        content: r.bodyType ? { [r.bodyType]: {} } : { 'application/json': {}, 'application/msgpack': {} },
      };
    }
    const path = toOpenApiPath(r.path);
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Simscope API', version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A self-contained HTML page listing every route (no external scripts or fonts). */
export function docsPage(routes: readonly RouteDoc[], version: string): string {
  const rows = routes
    .map(
      (r) =>
        `<tr><td><code>${r.method}</code></td><td><code>${escapeHtml(r.path)}</code></td><td>${escapeHtml(r.summary)}</td><td>${r.scope}</td><td>${Object.entries(
          r.query ?? {},
        )
          .map(([k, v]) => `<code>${escapeHtml(k)}</code>: ${escapeHtml(v)}`)
          .join('<br>')}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Simscope API ${escapeHtml(version)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}code{font-size:13px}</style>
</head><body><h1>Simscope API ${escapeHtml(version)}</h1>
<p>Send <code>Authorization: Bearer TOKEN</code>; pick a workspace with <code>Simscope-Workspace</code>. Errors are
<code>{"error":{"code","message","details"}}</code>. Machine-readable: <a href="openapi.json">openapi.json</a>.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Scope</th><th>Query</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>`;
}

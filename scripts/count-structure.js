#!/usr/bin/env node
// Structure figures for issue 17, before → after: `node scripts/count-structure.js [root] [--no-duplicates | --check]`
// (default root: this checkout; --no-duplicates leaves out the slow duplicates pass; --check prints only what is
// over the size limits in SIZE_PACKAGES and exits 1 if anything is: `npm run lint` runs it).
// The root needs node_modules (a symlink will do) for the TypeScript API. Counted over source files only:
// packages/*/src/**/*.{ts,tsx}, without *.test.ts and *.test.tsx.
//
// - path literals: a string literal, a template without substitutions, or the text before a template's first
//   `${`, outside packages/protocol, whose text is `/api/v1` or starts with `/api/v1/`, or starts with
//   `/<segment>` followed by the end, `/`, `?` or `.`, where <segment> is a first segment of the REST API:
//   one of REST_SEGMENTS below (the routes the server registered under /api/v1 when this was written).
//   Links to pages of the web UI share those names (`/runs/ID`, `/alerts`) but are not API paths: in packages/web,
//   the router (app.tsx) and literals that become the path of `href(...)`, `navigate(...)` or a JSX `to=`/`href=`
//   attribute are listed apart (see isPageLink).
// - largest file: lines (as `wc -l`) of the longest source file in packages/server/src.
// - longest function: lines from its first token to its closing brace, for every function declaration,
//   function expression, arrow function, method, constructor and accessor (a nested one counts on its own
//   and inside its outer one), in packages/server, packages/client and packages/web.
// - paginators: loops (for, for-of, for-in, while, do) outside packages/protocol and packages/server that
//   assign `<expression>.next` (not a `.next()` call) to a variable or property in their own body (not in a
//   loop nested inside): a loop carrying a cursor from one page to the next.
// - duplicates: the pair count on the first line of `duplicates --seconds 120` over the whole tree.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const check = args.includes('--check');
const skipDuplicates = check || args.includes('--no-duplicates');
const root = resolve(args.find((a) => !a.startsWith('--')) ?? '.');
const require = createRequire(join(root, 'package.json'));
const { API } = await import(pathToFileURL(require.resolve('typescript/unstable/sync')).href);
const { SyntaxKind } = await import(pathToFileURL(require.resolve('typescript/unstable/ast')).href);

const REST_SEGMENTS = [
  '_sink',
  'admin',
  'alerts',
  'artifacts',
  'docs',
  'folders',
  'health',
  'live',
  'me',
  'metrics',
  'openapi.json',
  'run-table',
  'runs',
  'telemetry',
  'version',
];
const PATH_LITERAL = new RegExp(
  `^(/api/v1(/|$)|/(${REST_SEGMENTS.map((s) => s.replace('.', '\\.')).join('|')})([/?.]|$))`,
);
const FUNCTION_KINDS = new Set([
  SyntaxKind.FunctionDeclaration,
  SyntaxKind.FunctionExpression,
  SyntaxKind.ArrowFunction,
  SyntaxKind.MethodDeclaration,
  SyntaxKind.Constructor,
  SyntaxKind.GetAccessor,
  SyntaxKind.SetAccessor,
]);
const LOOP_KINDS = new Set([
  SyntaxKind.ForStatement,
  SyntaxKind.ForOfStatement,
  SyntaxKind.ForInStatement,
  SyntaxKind.WhileStatement,
  SyntaxKind.DoStatement,
]);
const SIZE_PACKAGES = ['server', 'client', 'web'];
/** Files `--check` lets over the limits, each with its reason (none today; see the issue 17 notes). */
const SIZE_EXCEPTIONS = new Set([]);

const packages = readdirSync(join(root, 'packages')).filter((p) =>
  existsSync(join(root, 'packages', p, 'tsconfig.json')),
);
const api = new API({ cwd: root });
const snapshot = api.updateSnapshot({
  openProjects: packages.map((p) => join(root, 'packages', p, 'tsconfig.json')),
});

const pathLiterals = [];
const pageLinks = [];
/** The web UI's router: its paths are the UI's own pages. */
const UI_ROUTER = 'packages/web/src/app.tsx';
/** Calls and JSX attributes of packages/web whose first argument or value is a link to a page of the UI. */
const UI_LINK_CALLS = new Set(['href', 'navigate']);
const UI_LINK_ATTRIBUTES = new Set(['to', 'href']);
const functions = [];
const paginators = [];
const fileLines = [];

function lineOf(sourceFile, pos) {
  const starts = sourceFile.getLineStarts();
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function functionName(node) {
  if (node.name?.text) return node.name.text;
  if (node.kind === SyntaxKind.Constructor) return 'constructor';
  const parent = node.parent;
  if (parent?.name?.text) return parent.name.text;
  return '(anonymous)';
}

function assignsNext(loop) {
  let found = false;
  loop.forEachChild(function visit(node) {
    if (found || LOOP_KINDS.has(node.kind)) return;
    const isAssignment =
      node.kind === SyntaxKind.BinaryExpression && node.operatorToken.kind === SyntaxKind.EqualsToken;
    if (isAssignment && readsNext(node.right)) found = true;
    else node.forEachChild(visit);
  });
  return found;
}

function readsNext(expression) {
  let found = false;
  expression.forEachChild(function visit(node) {
    if (found) return;
    if (node.kind === SyntaxKind.CallExpression) return;
    if (node.kind === SyntaxKind.PropertyAccessExpression && node.name.text === 'next') found = true;
    else node.forEachChild(visit);
  });
  if (expression.kind === SyntaxKind.PropertyAccessExpression && expression.name.text === 'next') return true;
  return found;
}

/**
 * Whether a literal in packages/web is a link to a page of the UI, not an API path: anything in the UI's router
 * (app.tsx), or a literal that ends up as the path given to `href(...)` or `navigate(...)`, or as the `to` or
 * `href` attribute of a JSX element (through templates, `+` and conditionals on the way up).
 */
function isPageLink(file, node) {
  if (file === UI_ROUTER) return true;
  let child = node;
  let parent = node.parent;
  while (
    parent &&
    (parent.kind === SyntaxKind.TemplateExpression ||
      parent.kind === SyntaxKind.TemplateSpan ||
      parent.kind === SyntaxKind.ParenthesizedExpression ||
      parent.kind === SyntaxKind.ConditionalExpression ||
      (parent.kind === SyntaxKind.BinaryExpression && parent.operatorToken.kind === SyntaxKind.PlusToken))
  ) {
    child = parent;
    parent = parent.parent;
  }
  if (!parent) return false;
  if (parent.kind === SyntaxKind.CallExpression) {
    const callee = parent.expression;
    return (
      parent.arguments[0] === child && callee.kind === SyntaxKind.Identifier && UI_LINK_CALLS.has(callee.text)
    );
  }
  if (parent.kind === SyntaxKind.JsxExpression) parent = parent.parent;
  return parent?.kind === SyntaxKind.JsxAttribute && UI_LINK_ATTRIBUTES.has(parent.name.text);
}

function scan(pkg, sourceFile) {
  const file = relative(root, sourceFile.fileName);
  const text = sourceFile.text;
  fileLines.push({
    pkg,
    file,
    lines: text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0),
  });
  sourceFile.forEachChild(function visit(node) {
    const kind = node.kind;
    const isString =
      kind === SyntaxKind.StringLiteral ||
      kind === SyntaxKind.NoSubstitutionTemplateLiteral ||
      kind === SyntaxKind.TemplateHead;
    if (isString && pkg !== 'protocol' && PATH_LITERAL.test(node.text)) {
      const literal = { file, line: lineOf(sourceFile, node.getStart(sourceFile)), text: node.text };
      if (pkg === 'web' && isPageLink(file, node)) pageLinks.push(literal);
      else pathLiterals.push(literal);
    }
    if (FUNCTION_KINDS.has(kind) && node.body) {
      const start = lineOf(sourceFile, node.getStart(sourceFile));
      const end = lineOf(sourceFile, node.end - 1);
      functions.push({ pkg, file, line: start, name: functionName(node), lines: end - start + 1 });
    }
    if (LOOP_KINDS.has(kind) && pkg !== 'protocol' && pkg !== 'server' && assignsNext(node)) {
      paginators.push({ file, line: lineOf(sourceFile, node.getStart(sourceFile)) });
    }
    node.forEachChild(visit);
  });
}

for (const project of snapshot.getProjects()) {
  const pkg = relative(join(root, 'packages'), project.configFileName).split(/[\\/]/)[0];
  for (const name of project.rootFiles) {
    const rel = relative(join(root, 'packages', pkg), name);
    if (!rel.startsWith('src/') || /\.test\.tsx?$/.test(rel) || name.endsWith('.d.ts')) continue;
    const sourceFile = project.program.getSourceFile(name);
    if (sourceFile) scan(pkg, sourceFile);
  }
}
api.close();

if (check) {
  // `--check` (in `npm run lint`): fails on a file over 600 lines or a function over 150 lines in server, client
  // or web (tests aside), by this script's count, which is stricter than Biome's (Biome leaves nested functions'
  // lines out of their outer function).
  const over = [
    ...fileLines
      .filter((f) => SIZE_PACKAGES.includes(f.pkg) && f.lines > 600 && !SIZE_EXCEPTIONS.has(f.file))
      .map((f) => `${f.file}: ${f.lines} lines (at most 600 a file)`),
    ...functions
      .filter((f) => SIZE_PACKAGES.includes(f.pkg) && f.lines > 150 && !SIZE_EXCEPTIONS.has(f.file))
      .map((f) => `${f.file}:${f.line}: ${f.name} has ${f.lines} lines (at most 150 a function)`),
  ];
  for (const line of over) console.error(line);
  process.exit(over.length > 0 ? 1 : 0);
}

const byFile = new Map();
for (const p of pathLiterals) byFile.set(p.file, (byFile.get(p.file) ?? 0) + 1);
console.log(`path literals outside packages/protocol: ${pathLiterals.length} in ${byFile.size} files`);
for (const [file, n] of [...byFile].sort((a, b) => b[1] - a[1])) console.log(`  ${n}\t${file}`);
const linkFiles = new Set(pageLinks.map((p) => p.file));
console.log(
  `  not counted: ${pageLinks.length} links to pages of the web UI in ${linkFiles.size} files (the router in app.tsx, href(...), navigate(...), to=/href= attributes)`,
);

const serverFiles = fileLines.filter((f) => f.pkg === 'server').sort((a, b) => b.lines - a.lines);
console.log(`largest file in packages/server/src: ${serverFiles[0]?.lines} lines (${serverFiles[0]?.file})`);
for (const pkg of SIZE_PACKAGES) {
  const files = fileLines.filter((f) => f.pkg === pkg && f.lines > 600).sort((a, b) => b.lines - a.lines);
  console.log(
    `  ${pkg}: files over 600 lines: ${files.length}${files.map((f) => ` ${f.file} (${f.lines})`).join(',')}`,
  );
}

for (const pkg of SIZE_PACKAGES) {
  const longest = functions.filter((f) => f.pkg === pkg).sort((a, b) => b.lines - a.lines);
  const top = longest[0];
  const over = longest.filter((f) => f.lines > 150);
  console.log(
    `longest function in packages/${pkg}: ${top?.lines} lines (${top?.name}, ${top?.file}:${top?.line}); over 150 lines: ${over.length}`,
  );
  for (const f of over) console.log(`  ${f.lines}\t${f.name}\t${f.file}:${f.line}`);
}

console.log(`paginators (loops carrying a page's .next, outside protocol and server): ${paginators.length}`);
for (const p of paginators) console.log(`  ${p.file}:${p.line}`);

if (skipDuplicates) process.exit(0);
const dup = execFileSync('duplicates', ['--repo', root, '--seconds', '120'], { encoding: 'utf8' });
const first = dup.split('\n')[0] ?? '';
const pairs = /^(\d+) pairs/.exec(first)?.[1] ?? (first.startsWith('no duplicates') ? '0' : '?');
console.log(`duplicates pairs over the tree: ${pairs} (${first})`);

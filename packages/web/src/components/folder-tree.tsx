import type { FolderView } from '@simscope/protocol';
import { useEffect, useState } from 'react';
import { href, navigate } from '../router.js';
import { useSession } from '../session.js';
import { Link } from './link.js';
import { LoadError, Loading } from './load-state.js';

interface Node {
  path: string;
  name: string;
  children: Node[];
}

function buildTree(folders: FolderView[]): Node {
  const root: Node = { path: '/', name: 'All runs', children: [] };
  const byPath = new Map<string, Node>([['/', root]]);
  const sorted = [...folders].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) {
    if (f.path === '/') continue;
    const cut = f.path.lastIndexOf('/');
    const parentPath = cut <= 0 ? '/' : f.path.slice(0, cut);
    const node: Node = { path: f.path, name: f.path.slice(cut + 1), children: [] };
    byPath.set(f.path, node);
    (byPath.get(parentPath) ?? root).children.push(node);
  }
  return root;
}

/** The workspace's folders as a tree; picking one shows its runs. */
export function FolderTree({
  current,
  filter,
  version,
}: {
  current: string;
  filter: string;
  version: number;
}) {
  const { api } = useSession();
  const [tree, setTree] = useState<Node | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  // On a narrow screen the tree folds away above the table; picking a folder folds it again.
  const [open, setOpen] = useState(false);

  useEffect(() => {
    let stop = false;
    setError(null);
    (async () => {
      const all: FolderView[] = [];
      let next: string | null = null;
      do {
        const page = await api.folders({ limit: 1000, next });
        all.push(...page.items);
        next = page.next;
      } while (next && !stop && all.length < 20_000);
      if (!stop) setTree(buildTree(all));
    })().catch((e: unknown) => {
      if (!stop) setError(e);
    });
    return () => {
      stop = true;
    };
  }, [api, version, attempt]);

  const item = (node: Node) => (
    <li key={node.path}>
      <div>
        <button
          type="button"
          className="folder"
          aria-current={node.path === current ? 'true' : undefined}
          onClick={() => {
            setOpen(false);
            navigate(href('/', { folder: node.path === '/' ? null : node.path, filter: filter || null }));
          }}
        >
          {node.name}
        </button>
        {node.path !== '/' ? (
          <Link className="edit" to={`/folders${node.path}`} aria-label={`Folder ${node.path}: details`}>
            details
          </Link>
        ) : null}
      </div>
      {node.children.length > 0 ? <ul>{node.children.map(item)}</ul> : null}
    </li>
  );

  return (
    <nav className={`folder-tree${open ? ' open' : ''}`} aria-label="Folders">
      <button
        type="button"
        className="folder-toggle"
        aria-expanded={open}
        aria-controls="folder-tree-list"
        onClick={() => setOpen((o) => !o)}
      >
        Folders: {current === '/' ? 'all runs' : current}
      </button>
      <div id="folder-tree-list" className="folder-tree-list">
        {error ? (
          <LoadError error={error} what="Loading the folders" onRetry={() => setAttempt((a) => a + 1)} />
        ) : tree ? (
          <ul>{item(tree)}</ul>
        ) : (
          <Loading what="folders" />
        )}
      </div>
    </nav>
  );
}

import type { FolderView } from '@simscope/protocol';
import { useEffect, useState } from 'react';
import { href, navigate } from '../router.js';
import { useSession } from '../session.js';
import { Link } from './link.js';

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
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stop = false;
    (async () => {
      const all: FolderView[] = [];
      let next: string | null = null;
      do {
        const page = await api.folders({ limit: 1000, next });
        all.push(...page.items);
        next = page.next;
      } while (next && !stop && all.length < 20_000);
      if (!stop) setTree(buildTree(all));
    })().catch((e: Error) => setError(e.message));
    return () => {
      stop = true;
    };
  }, [api, version]);

  const item = (node: Node) => (
    <li key={node.path}>
      <div>
        <button
          type="button"
          className="folder"
          aria-current={node.path === current ? 'true' : undefined}
          onClick={() =>
            navigate(href('/', { folder: node.path === '/' ? null : node.path, filter: filter || null }))
          }
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
    <nav className="folder-tree" aria-label="Folders">
      {error ? <p className="error">{error}</p> : null}
      {tree ? <ul>{item(tree)}</ul> : <p className="muted">Loading folders…</p>}
    </nav>
  );
}

import type { FolderView } from '@simscope/protocol';
import { useEffect, useMemo, useState } from 'react';
import { navigate } from '../router.js';
import { useSession } from '../session.js';
import { filterOfText } from './filter-box.js';
import { Link } from './link.js';
import { LoadError, Loading } from './load-state.js';
import { naturalCompare } from './run-columns.js';

interface Node {
  path: string;
  name: string;
  children: Node[];
  /** Runs in this folder itself, and with its subfolders'. */
  own: number;
  total: number;
}

/** Folders as a tree, siblings in natural order (re100, re400, re1000), with run counts summed upwards. */
function buildTree(folders: readonly FolderView[], counts: Readonly<Record<string, number>>): Node {
  const root: Node = { path: '/', name: 'All runs', children: [], own: counts['/'] ?? 0, total: 0 };
  const byPath = new Map<string, Node>([['/', root]]);
  const node = (path: string): Node => {
    let found = byPath.get(path);
    if (found) return found;
    const cut = path.lastIndexOf('/');
    const parent = node(cut <= 0 ? '/' : path.slice(0, cut));
    found = { path, name: path.slice(cut + 1), children: [], own: counts[path] ?? 0, total: 0 };
    byPath.set(path, found);
    parent.children.push(found);
    return found;
  };
  for (const f of folders) if (f.path !== '/') node(f.path);
  for (const path of Object.keys(counts)) if (path !== '/') node(path);
  const finish = (n: Node): number => {
    n.children.sort((a, b) => naturalCompare(a.name, b.name));
    n.total = n.own;
    for (const c of n.children) n.total += finish(c);
    return n.total;
  };
  finish(root);
  return root;
}

/** The workspace's folders as a tree with run counts; picking one shows its runs (and its subfolders'). */
export function FolderTree({
  current,
  filter,
  version,
  subfolders,
  countLater = false,
}: {
  current: string;
  filter: string;
  version: number;
  /** Whether a folder's runs include its subfolders' (the counts follow). */
  subfolders: boolean;
  /** Put off counting while the runs table loads (the count scans every run the filter matches). */
  countLater?: boolean;
}) {
  const { api } = useSession();
  const [folders, setFolders] = useState<FolderView[] | null>(null);
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  // On a narrow screen the tree folds away above the table; picking a folder folds it again.
  const [open, setOpen] = useState(false);

  useEffect(() => {
    let stop = false;
    setError(null);
    (async () => {
      const all: FolderView[] = [];
      for await (const items of api.pages('listFolders', { query: { limit: 1000 } })) {
        all.push(...items);
        if (stop || all.length >= 20_000) break;
      }
      if (!stop) setFolders(all);
    })().catch((e: unknown) => {
      if (!stop) setError(e);
    });
    return () => {
      stop = true;
    };
  }, [api, version, attempt]);

  // Counts of the runs the filter matches, per folder (a count the server makes without sending the runs).
  const countFilter = filterOfText(filter).filter;
  useEffect(() => {
    if (countLater) return;
    const abort = new AbortController();
    api.runTable({ filter: countFilter, limit: 1, folderCounts: true }, abort.signal).then(
      (page) => setCounts(page.folderCounts ?? {}),
      () => {},
    );
    return () => abort.abort();
  }, [api, countFilter, version, attempt, countLater]);

  const tree = useMemo(() => (folders ? buildTree(folders, counts) : null), [folders, counts]);

  const go = (path: string) => {
    setOpen(false);
    const params = new URLSearchParams(window.location.search);
    if (path === '/') params.delete('folder');
    else params.set('folder', path);
    const qs = params.toString();
    navigate(qs ? `/?${qs}` : '/');
  };

  const item = (node: Node) => {
    const count = subfolders || node.path === '/' ? node.total : node.own;
    return (
      <li key={node.path}>
        <div>
          <button
            type="button"
            className="folder"
            aria-current={node.path === current ? 'true' : undefined}
            title={`${count.toLocaleString('en')} ${count === 1 ? 'run' : 'runs'}`}
            onClick={() => go(node.path)}
          >
            {node.name}{' '}
            <span className="count" aria-hidden="true">
              {count.toLocaleString('en')}
            </span>
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
  };

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

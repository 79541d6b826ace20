import type { FolderView, JsonObject } from '@simscope/protocol';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError } from '../api.js';
import { Link } from '../components/link.js';
import { href } from '../router.js';
import { useSession } from '../session.js';

/** A folder's description, tags and metadata, editable. */
export function FolderPage({ path }: { path: string }) {
  const { api } = useSession();
  const [folder, setFolder] = useState<FolderView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState('');
  const [metadata, setMetadata] = useState('{}');
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const show = (f: FolderView) => {
    setFolder(f);
    setDescription(f.description ?? '');
    setTags(f.tags.join(', '));
    setMetadata(JSON.stringify(f.metadata, null, 2));
  };

  useEffect(() => {
    api.folder(path).then(show, (e: Error) => setError(e.message));
  }, [api, path]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!folder) return;
    setSaved(null);
    let parsed: JsonObject;
    try {
      const value = JSON.parse(metadata) as unknown;
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new Error('metadata must be a JSON object');
      parsed = value as JsonObject;
    } catch (err) {
      setProblem(`Metadata: ${(err as Error).message}`);
      return;
    }
    // Keys removed in the editor are sent as null: the API merges metadata.
    const patch: JsonObject = { ...parsed };
    for (const key of Object.keys(folder.metadata)) if (!(key in parsed)) patch[key] = null;
    setBusy(true);
    try {
      const updated = await api.patchFolder(folder.id, {
        description: description.trim() ? description : null,
        tags: tags
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        metadata: patch,
      });
      show(updated);
      setProblem(null);
      setSaved('Saved.');
    } catch (err) {
      setProblem(err instanceof ApiError ? err.message : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (error)
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  if (!folder) return <p className="muted">Loading folder…</p>;
  return (
    <section aria-labelledby="folder-heading">
      <h1 id="folder-heading">Folder {folder.path}</h1>
      <p>
        <Link to={href('/', { folder: folder.path === '/' ? null : folder.path })}>Runs in this folder</Link>
      </p>
      <form onSubmit={save} className="form-grid">
        <label htmlFor="folder-description">Description</label>
        <textarea
          id="folder-description"
          rows={4}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        <label htmlFor="folder-tags">Tags</label>
        <input
          id="folder-tags"
          value={tags}
          onChange={(e) => setTags(e.target.value)}
          aria-describedby="folder-tags-help"
        />
        <span />
        <span id="folder-tags-help" className="muted">
          Separated by commas.
        </span>
        <label htmlFor="folder-metadata">Metadata (JSON)</label>
        <textarea
          id="folder-metadata"
          rows={10}
          value={metadata}
          onChange={(e) => setMetadata(e.target.value)}
          spellCheck={false}
          aria-invalid={problem?.startsWith('Metadata') ? true : undefined}
        />
        <span />
        <div className="row">
          <button className="primary" type="submit" disabled={busy}>
            Save
          </button>
          {problem ? (
            <span className="error" role="alert">
              {problem}
            </span>
          ) : null}
          {saved ? (
            <span role="status" className="muted">
              {saved}
            </span>
          ) : null}
        </div>
      </form>
    </section>
  );
}

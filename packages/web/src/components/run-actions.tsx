import type { JsonObject, RunView } from '@simscope/protocol';
import { type FormEvent, useState } from 'react';
import { ApiError } from '../api.js';
import { href, navigate } from '../router.js';
import { useSession } from '../session.js';
import { DetailsFields } from './details-fields.js';

type Open = 'edit' | 'abort' | 'delete' | null;

/** Tags typed as `a, b c`: split on commas, trimmed, empty ones dropped. */
export function parseTags(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** Parses the metadata editor's text: a JSON object, or an error naming what is wrong. */
function parseMetadata(text: string): JsonObject {
  const value = JSON.parse(text) as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error('must be a JSON object');
  return value as JsonObject;
}

function messageOf(error: unknown): string {
  return error instanceof ApiError
    ? error.message
    : `the server cannot be reached: ${(error as Error).message}`;
}

/**
 * A run's actions for a token that may write: edit its name, description, tags and metadata, ask it to abort
 * (with a reason), and delete it after a confirmation.
 */
export function RunActions({ run, onChanged }: { run: RunView; onChanged(run: RunView): void }) {
  const [open, setOpen] = useState<Open>(null);
  const active = run.status === 'running' || run.status === 'created';
  const toggle = (what: Open) => setOpen((o) => (o === what ? null : what));
  return (
    <div className="run-actions">
      <div className="row">
        <button type="button" aria-expanded={open === 'edit'} onClick={() => toggle('edit')}>
          Edit
        </button>
        {active ? (
          <button type="button" aria-expanded={open === 'abort'} onClick={() => toggle('abort')}>
            Abort…
          </button>
        ) : null}
        <button
          type="button"
          className="danger"
          aria-expanded={open === 'delete'}
          onClick={() => toggle('delete')}
        >
          Delete…
        </button>
      </div>
      {open === 'edit' ? (
        <EditRun
          run={run}
          onDone={(r) => {
            onChanged(r);
            setOpen(null);
          }}
          onCancel={() => setOpen(null)}
        />
      ) : null}
      {open === 'abort' && active ? <AbortRun run={run} onDone={() => setOpen(null)} /> : null}
      {open === 'delete' ? <DeleteRun run={run} onCancel={() => setOpen(null)} /> : null}
    </div>
  );
}

function EditRun({ run, onDone, onCancel }: { run: RunView; onDone(run: RunView): void; onCancel(): void }) {
  const { api } = useSession();
  const [name, setName] = useState(run.name);
  const [description, setDescription] = useState(run.description ?? '');
  const [tags, setTags] = useState(run.tags.join(', '));
  const [metadata, setMetadata] = useState(JSON.stringify(run.metadata, null, 2));
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    let parsed: JsonObject;
    try {
      parsed = parseMetadata(metadata);
    } catch (err) {
      setProblem(`Metadata: ${(err as Error).message}`);
      return;
    }
    // Keys removed in the editor are sent as null: the API merges metadata.
    const patch: JsonObject = { ...parsed };
    for (const key of Object.keys(run.metadata)) if (!(key in parsed)) patch[key] = null;
    const body: Record<string, unknown> = { tags: parseTags(tags), metadata: patch };
    if (name.trim() !== run.name) body.name = name.trim();
    if (description !== (run.description ?? '')) body.description = description;
    setBusy(true);
    try {
      onDone(await api.patchRun(run.id, body));
    } catch (err) {
      setProblem(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="form-grid action-panel" onSubmit={save} aria-label="Edit run">
      <label htmlFor="run-edit-name">Name</label>
      <input id="run-edit-name" value={name} onChange={(e) => setName(e.target.value)} required />
      <DetailsFields
        idPrefix="run-edit"
        rows={{ description: 3, metadata: 8 }}
        description={description}
        onDescription={setDescription}
        tags={tags}
        onTags={setTags}
        metadata={metadata}
        onMetadata={setMetadata}
        problem={problem}
      />
      <span />
      <div className="row">
        <button className="primary" type="submit" disabled={busy}>
          Save
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        {problem ? (
          <span className="error" role="alert">
            {problem}
          </span>
        ) : null}
      </div>
    </form>
  );
}

function AbortRun({ run, onDone }: { run: RunView; onDone(): void }) {
  const { api } = useSession();
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api.abortRun(run.id, reason.trim() || null);
      onDone();
    } catch (err) {
      setProblem(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="action-panel row" onSubmit={submit} aria-label="Abort run">
      <label htmlFor="run-abort-reason">Reason</label>
      <input
        id="run-abort-reason"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        placeholder="e.g. diverged at step 400"
        maxLength={1024}
      />
      <button type="submit" className="danger" disabled={busy}>
        Abort {run.name}
      </button>
      <span className="muted">The run stops at its next heartbeat.</span>
      {problem ? (
        <span className="error" role="alert">
          {problem}
        </span>
      ) : null}
    </form>
  );
}

function DeleteRun({ run, onCancel }: { run: RunView; onCancel(): void }) {
  const { api, selection } = useSession();
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    setBusy(true);
    try {
      await api.deleteRun(run.id);
      if (selection.has(run.id)) selection.toggle(run.id);
      navigate(href('/', { folder: run.folder === '/' ? null : run.folder }));
    } catch (err) {
      setProblem(messageOf(err));
      setBusy(false);
    }
  };
  return (
    <fieldset className="action-panel confirm" aria-label="Delete run">
      <p>
        Delete <strong>{run.name}</strong> with all its metrics, events, alerts and files? This cannot be
        undone.
      </p>
      <div className="row">
        <button type="button" className="danger" disabled={busy} onClick={remove}>
          Delete {run.name}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        {problem ? (
          <span className="error" role="alert">
            {problem}
          </span>
        ) : null}
      </div>
    </fieldset>
  );
}

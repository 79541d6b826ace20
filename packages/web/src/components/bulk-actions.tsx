import { type FormEvent, useState } from 'react';
import { ApiError } from '../api.js';
import { useSession } from '../session.js';
import { parseTags } from './run-actions.js';

type Action = 'tag' | 'untag' | 'move' | 'delete';

/** How many requests run at once for a bulk change: enough to be quick, few enough to leave the server room. */
const PARALLEL = 4;

async function eachRun(ids: readonly string[], work: (id: string) => Promise<unknown>): Promise<string[]> {
  const failed: string[] = [];
  let at = 0;
  const worker = async () => {
    for (let id = ids[at++]; id !== undefined; id = ids[at++]) {
      try {
        await work(id);
      } catch (error) {
        // A run deleted meanwhile is already where a delete wanted it.
        if (!(error instanceof ApiError && error.status === 404)) failed.push(id);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, ids.length) }, worker));
  return failed;
}

/** Changes to every selected run at once: add or remove tags, move to a folder, delete (after a confirmation). */
export function BulkActions() {
  const { api, selection } = useSession();
  const [action, setAction] = useState<Action>('tag');
  const [value, setValue] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const ids = selection.ids;
  const n = ids.length;
  const runs = `${n} ${n === 1 ? 'run' : 'runs'}`;

  const apply = async () => {
    setBusy(true);
    setResult(null);
    let failed: string[];
    let done: string;
    if (action === 'delete') {
      failed = await eachRun(ids, (id) => api.deleteRun(id));
      done = `Deleted ${runs}.`;
      selection.set(failed);
    } else if (action === 'move') {
      failed = await eachRun(ids, (id) => api.patchRun(id, { folder: value.trim() }));
      done = `Moved ${runs} to ${value.trim()}.`;
    } else {
      const tags = parseTags(value);
      failed = await eachRun(ids, (id) =>
        api.patchRun(id, action === 'tag' ? { addTags: tags } : { removeTags: tags }),
      );
      done = `${action === 'tag' ? 'Tagged' : 'Untagged'} ${runs}.`;
    }
    setBusy(false);
    setConfirming(false);
    setResult(
      failed.length === 0
        ? { ok: true, text: done }
        : { ok: false, text: `${failed.length} of ${n} could not be changed; they stay selected.` },
    );
    if (failed.length > 0) selection.set(failed);
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (action === 'delete') setConfirming(true);
    else void apply();
  };

  if (n === 0 && !result) return null;
  const needsValue = action !== 'delete';
  return (
    <form className="bulk-actions row" onSubmit={submit} aria-label="Change selected runs">
      <label>
        <span className="visually-hidden">Action for the selected runs</span>
        <select
          value={action}
          onChange={(e) => {
            setAction(e.target.value as Action);
            setConfirming(false);
            setResult(null);
          }}
          aria-label="Action for the selected runs"
        >
          <option value="tag">Add tags</option>
          <option value="untag">Remove tags</option>
          <option value="move">Move to folder</option>
          <option value="delete">Delete</option>
        </select>
      </label>
      {needsValue ? (
        <input
          aria-label={action === 'move' ? 'Folder' : 'Tags'}
          placeholder={action === 'move' ? '/study/sweep' : 'tag, other tag'}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          required
        />
      ) : null}
      {confirming ? (
        <fieldset className="confirm row" aria-label="Confirm delete">
          <span>Delete {runs} with all their data? This cannot be undone.</span>
          <button type="button" className="danger" disabled={busy} onClick={() => void apply()}>
            Delete {runs}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </fieldset>
      ) : (
        <button type="submit" disabled={busy || n === 0}>
          Apply to {runs}
        </button>
      )}
      {result ? (
        <span className={result.ok ? 'muted' : 'error'} role={result.ok ? 'status' : 'alert'}>
          {result.text}
        </span>
      ) : null}
    </form>
  );
}

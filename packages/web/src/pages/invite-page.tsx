import { useState } from 'react';
import type { Api } from '../api.js';
import { LoadError } from '../components/load-state.js';
import { storeWorkspace } from '../session.js';

/**
 * Takes an invite link (`/invite#inv_…`) as the signed-in user, who may be a member of no workspace yet: they join
 * its workspace with its role, and the UI opens there.
 */
export function InvitePage({ api }: { api: Api }) {
  const token = window.location.hash.slice(1);
  const [error, setError] = useState<unknown>(null);

  const accept = async () => {
    try {
      const answer = await api.call('acceptInvite', { body: { token } });
      storeWorkspace(answer.workspace.name);
      window.location.assign('/');
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="invite-heading">
      <h1 id="invite-heading">Invitation</h1>
      {error ? <LoadError error={error} what="the invite" /> : null}
      <p>
        You were invited to a workspace.{' '}
        <button type="button" onClick={accept} disabled={token === ''}>
          Join
        </button>
      </p>
    </section>
  );
}

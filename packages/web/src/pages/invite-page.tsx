import { useState } from 'react';
import { LoadError } from '../components/load-state.js';
import { useSession } from '../session.js';

/** Takes an invite link (`/invite#inv_…`) as the signed-in user: they join its workspace with its role. */
export function InvitePage() {
  const s = useSession();
  const token = window.location.hash.slice(1);
  const [error, setError] = useState<unknown>(null);
  const [joined, setJoined] = useState<string | null>(null);

  const accept = async () => {
    try {
      const answer = await s.api.call('acceptInvite', { body: { token } });
      setJoined(`You joined ${answer.workspace.name} as ${answer.role}.`);
      window.history.replaceState(null, '', '/');
      s.switchWorkspace(answer.workspace.name);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="invite-heading">
      <h1 id="invite-heading">Invitation</h1>
      {error ? <LoadError error={error} what="the invite" /> : null}
      {joined ? (
        <p role="status">{joined}</p>
      ) : (
        <p>
          You, {s.me.user.name}, were invited to a workspace.{' '}
          <button type="button" onClick={accept} disabled={token === ''}>
            Join
          </button>
        </p>
      )}
    </section>
  );
}

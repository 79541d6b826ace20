import type { InviteView, MemberView, ShareView, WorkspaceRole } from '@simscope/protocol/api';
import { WORKSPACE_ROLES } from '@simscope/protocol/api';
import { useCallback, useState } from 'react';
import { ListTable } from '../components/list-table.js';
import { LoadError, Loading } from '../components/load-state.js';
import { useLoaded } from '../components/use-loaded.js';
import { formatTime } from '../format.js';
import { useSession } from '../session.js';

interface Lists {
  members: MemberView[];
  invites: InviteView[];
  shares: ShareView[];
}

/** The workspace's members and roles, invite links and share links (owners). */
export function MembersPage() {
  const { api, me } = useSession();
  const {
    data: lists,
    error,
    setError,
    reload,
    retry,
  } = useLoaded(
    useCallback(async (): Promise<Lists> => {
      const [members, invites, shares] = await Promise.all([
        api.call('listWorkspaceMembers'),
        api.call('listInvites'),
        api.call('listShares'),
      ]);
      return { members: members.items, invites: invites.items, shares: shares.items };
    }, [api]),
  );

  const act = async (work: Promise<unknown>) => {
    try {
      await work;
    } catch (err) {
      setError(err);
      return;
    }
    await reload();
  };

  if (error) return <LoadError error={error} what="the members (owners only)" onRetry={retry} />;
  if (!lists) return <Loading what="the members" />;
  return (
    <section aria-labelledby="members-heading">
      <h1 id="members-heading">Members of {me.workspace.name}</h1>
      <ListTable
        label="Members"
        columns={['Name', 'Email', 'Joined', 'Role', '']}
        items={lists.members}
        row={(m) => (
          <>
            <td>{m.name}</td>
            <td>{m.email ?? '—'}</td>
            <td>{formatTime(m.joined)}</td>
            <td>
              <select
                aria-label={`Role of ${m.name}`}
                value={m.role}
                onChange={(e) =>
                  act(
                    api.call('setMemberRole', {
                      params: { user: m.id },
                      body: { role: e.target.value as WorkspaceRole },
                    }),
                  )
                }
              >
                <RoleOptions />
              </select>
            </td>
            <td>
              <button
                type="button"
                onClick={() => act(api.call('removeWorkspaceMember', { params: { user: m.id } }))}
              >
                Remove {m.name}
              </button>
            </td>
          </>
        )}
      />

      <InviteSection invites={lists.invites} act={act} />
      <SharesTable shares={lists.shares} act={act} />
    </section>
  );
}

/** The workspace's share links, each revocable while it works. */
function SharesTable({ shares, act }: { shares: ShareView[]; act(work: Promise<unknown>): Promise<void> }) {
  const { api } = useSession();
  return (
    <>
      <h2>Share links</h2>
      <ListTable
        label="Share links"
        columns={['Shares', 'Made', 'Revoked', '']}
        items={shares}
        row={(sh) => (
          <>
            <td>{sh.run ? `run ${sh.run}` : `folder ${sh.folder}`}</td>
            <td>{formatTime(sh.created)}</td>
            <td>{sh.revoked === null ? '—' : formatTime(sh.revoked)}</td>
            <td>
              {sh.revoked === null ? (
                <button
                  type="button"
                  onClick={() => act(api.call('revokeShare', { params: { share: sh.id } }))}
                >
                  Revoke
                </button>
              ) : null}
            </td>
          </>
        )}
      />
    </>
  );
}

/** Makes invite links and lists those not used yet, each one withdrawable. */
function InviteSection({
  invites,
  act,
}: {
  invites: InviteView[];
  act(work: Promise<unknown>): Promise<void>;
}) {
  const { api } = useSession();
  const [inviteRole, setInviteRole] = useState<WorkspaceRole>('viewer');
  const [newLink, setNewLink] = useState<string | null>(null);
  const pending = invites.filter((i) => i.used === null);
  const invite = () =>
    act(
      api
        .call('createInvite', { body: { role: inviteRole } })
        .then((made) => setNewLink(`${window.location.origin}${made.link}`)),
    );
  return (
    <>
      <h2>Invite</h2>
      <p>
        <label>
          Role{' '}
          <select value={inviteRole} onChange={(e) => setInviteRole(e.target.value as WorkspaceRole)}>
            <RoleOptions />
          </select>
        </label>{' '}
        <button type="button" onClick={invite}>
          Make an invite link
        </button>
      </p>
      {newLink ? (
        <p role="status">
          Send this link (it works once, for 7 days):{' '}
          <input readOnly value={newLink} aria-label="Invite link" size={40} />
        </p>
      ) : null}
      <ListTable
        label="Invites"
        columns={['Role', 'Made', 'Expires', '']}
        items={pending}
        row={(i) => (
          <>
            <td>{i.role}</td>
            <td>{formatTime(i.created)}</td>
            <td>{formatTime(i.expires)}</td>
            <td>
              <button
                type="button"
                onClick={() => act(api.call('revokeInvite', { params: { invite: i.id } }))}
              >
                Withdraw
              </button>
            </td>
          </>
        )}
      />
    </>
  );
}

/** The workspace roles, as the options of a `<select>`. */
function RoleOptions() {
  return WORKSPACE_ROLES.map((r) => (
    <option key={r} value={r}>
      {r}
    </option>
  ));
}

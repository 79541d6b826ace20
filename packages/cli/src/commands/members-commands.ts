import {
  type AuditEntryView,
  type MemberView,
  paginate,
  parseDuration,
  type ShareView,
  WORKSPACE_ROLES,
  type WorkspaceRole,
} from '@simscope/protocol';
import type { Command } from 'commander';
import { type CliContext, clientOf, connectionOf, withConnectionOptions, withExamples } from '../context.js';
import { UsageError } from '../errors.js';
import { checkFormat, FORMATS, localTime, renderCsv, renderTable, toJson } from '../output.js';
import { confirmOrYes } from './runs-commands.js';

type Rows<T> = { header: string[]; row(item: T, csv: boolean): string[] };

const time = (micros: number | null, csv: boolean) =>
  csv ? (micros === null ? '' : String(micros)) : localTime(micros);

const MEMBER_ROWS: Rows<MemberView> = {
  header: ['name', 'role', 'email', 'id', 'joined'],
  row: (m, csv) => [m.name, m.role, m.email ?? '', m.id, time(m.joined, csv)],
};
const AUDIT_ROWS: Rows<AuditEntryView> = {
  header: ['at', 'actor', 'action', 'target', 'details'],
  row: (a, csv) => [
    time(a.at, csv),
    a.actorName,
    a.action,
    a.targetId ?? '',
    a.details === null ? '' : JSON.stringify(a.details),
  ],
};
const SHARE_ROWS: Rows<ShareView> = {
  header: ['id', 'run', 'folder', 'created', 'revoked'],
  row: (s, csv) => [s.id, s.run ?? '', s.folder ?? '', time(s.created, csv), time(s.revoked, csv)],
};

function render<T>(items: readonly T[], format: string, rows: Rows<T>): string {
  const checked = checkFormat(format, FORMATS);
  if (checked === 'json') return toJson(items);
  const csv = checked === 'csv';
  const body = items.map((item) => rows.row(item, csv));
  return csv ? renderCsv(rows.header, body) : renderTable(rows.header, body);
}

function roleOf(text: string): WorkspaceRole {
  if (!(WORKSPACE_ROLES as readonly string[]).includes(text)) {
    throw new UsageError(`role must be one of ${WORKSPACE_ROLES.join(', ')}, got '${text}'`);
  }
  return text as WorkspaceRole;
}

const formatOption = (c: Command) => c.option('--format <format>', 'table, json or csv', 'table');

/** `simscope members …`, `simscope share …` and `simscope audit`: what a workspace's owners manage. */
export function registerMembersCommands(program: Command, ctx: CliContext): void {
  const leaf = (parent: Command, name: string, description: string, examples: string[]) =>
    withExamples(withConnectionOptions(parent.command(name).description(description)), examples);
  const members = withExamples(
    program.command('members').description("the workspace's members and their roles (owners)"),
    [
      'simscope members list',
      'simscope members set-role ada editor',
      'simscope members invite --role viewer',
    ],
  );
  formatOption(leaf(members, 'list', 'members and roles', ['simscope members list'])).action(
    async (o, command) => {
      const { items } = await clientOf(ctx, command).call('listWorkspaceMembers');
      ctx.stdout.write(render(items, o.format, MEMBER_ROWS));
    },
  );
  leaf(members, 'set-role', "change a member's role: owner, editor or viewer", [
    'simscope members set-role ada viewer',
  ])
    .argument('<user>', 'user name or id')
    .argument('<role>', WORKSPACE_ROLES.join(', '))
    .action(async (user: string, role: string, _o, command) => {
      const member = await clientOf(ctx, command).call('setMemberRole', {
        params: { user },
        body: { role: roleOf(role) },
      });
      ctx.stdout.write(`${member.name} is now ${member.role}\n`);
    });
  leaf(members, 'remove', 'remove a member (their live streams close)', ['simscope members remove ada --yes'])
    .argument('<user>', 'user name or id')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (user: string, o, command) => {
      const client = clientOf(ctx, command);
      await confirmOrYes(o.yes, `Remove ${user} from the workspace?`);
      await client.call('removeWorkspaceMember', { params: { user } });
      ctx.stdout.write(`removed ${user}\n`);
    });
  leaf(members, 'invite', 'make a single-use invite link', [
    'simscope members invite --role editor --expires-in 2d',
  ])
    .option('--role <role>', WORKSPACE_ROLES.join(', '), 'viewer')
    .option('--expires-in <duration>', 'how long the link works (default 7d, at most 30d)')
    .action(async (o, command) => {
      const body = {
        role: roleOf(o.role),
        ...(o.expiresIn ? { expiresIn: parseDuration(o.expiresIn) } : {}),
      };
      const invite = await clientOf(ctx, command).call('createInvite', { body });
      const url = connectionOf(ctx, command).url.replace(/\/$/, '');
      ctx.stdout.write(
        `${url}${invite.link}\n(${invite.role}, works once, until ${localTime(invite.expires)})\n`,
      );
    });
  leaf(members, 'accept', 'join a workspace with an invite link', [
    'simscope members accept "https://…/invite#inv_…"',
  ])
    .argument('<link>', 'the invite link, or its token')
    .action(async (link: string, _o, command) => {
      const token = link.slice(link.lastIndexOf('#') + 1);
      const joined = await clientOf(ctx, command).call('acceptInvite', { body: { token } });
      ctx.stdout.write(`joined workspace ${joined.workspace.name} as ${joined.role}\n`);
    });

  const share = withExamples(
    program.command('share').description('read-only share links of runs and folders (owners)'),
    [
      'simscope share create --run cavity-1',
      'simscope share create --folder /sweeps/may',
      'simscope share list',
    ],
  );
  leaf(share, 'create', 'make a share link of a run or a folder', ['simscope share create --run cavity-1'])
    .option('--run <run>', 'run id or name')
    .option('--folder <path>', 'folder path (and all below it)')
    .action(async (o, command) => {
      if (Boolean(o.run) === Boolean(o.folder)) throw new UsageError('give one of --run or --folder');
      const body = o.run ? { run: String(o.run) } : { folder: String(o.folder) };
      const created = await clientOf(ctx, command).call('createShare', { body });
      const url = connectionOf(ctx, command).url.replace(/\/$/, '');
      ctx.stdout.write(`${url}${created.link}\n`);
    });
  formatOption(leaf(share, 'list', 'share links of the workspace', ['simscope share list'])).action(
    async (o, command) => {
      const { items } = await clientOf(ctx, command).call('listShares');
      ctx.stdout.write(render(items, o.format, SHARE_ROWS));
    },
  );
  leaf(share, 'revoke', 'revoke a share link at once', ['simscope share revoke 3fQ…'])
    .argument('<id>', 'share id (from share list)')
    .action(async (id: string, _o, command) => {
      await clientOf(ctx, command).call('revokeShare', { params: { share: id } });
      ctx.stdout.write(`revoked share ${id}\n`);
    });

  formatOption(
    leaf(program, 'audit', 'who changed what in the workspace, newest first (owners; --all: admins)', [
      'simscope audit',
      'simscope audit --all --limit 500 --format json',
    ])
      .option('--limit <n>', 'entries (default 100)', '100')
      .option('--all', 'the whole server (admin token)'),
  ).action(async (o, command) => {
    const limit = Number(o.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new UsageError(`--limit must be a whole number ≥ 1, got '${o.limit}'`);
    const client = clientOf(ctx, command);
    const items: AuditEntryView[] = [];
    const pages = paginate(
      (next) => {
        const query = { limit: String(Math.min(1000, limit - items.length)), ...(next ? { next } : {}) };
        return o.all ? client.call('listAllAudit', { query }) : client.call('listAudit', { query });
      },
      { maxItems: limit },
    );
    for await (const page of pages) items.push(...page);
    ctx.stdout.write(render(items, o.format, AUDIT_ROWS));
  });
}

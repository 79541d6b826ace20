import { parseDuration, type TokenView, type UserView, type WorkspaceView } from '@simscope/protocol';
import type { Command } from 'commander';
import { type CliContext, clientOf, collect, withConnectionOptions, withExamples } from '../context.js';
import { UsageError } from '../errors.js';
import { checkFormat, FORMATS, localTime, renderCsv, renderTable, toJson } from '../output.js';
import { confirmOrYes } from './runs-commands.js';

type Rows<T> = { header: string[]; row(item: T, csv: boolean): string[] };

const time = (micros: number | null, csv: boolean) =>
  csv ? (micros === null ? '' : String(micros)) : localTime(micros);

const USER_ROWS: Rows<UserView> = {
  header: ['name', 'id', 'email', 'admin', 'created'],
  row: (u, csv) => [u.name, u.id, u.email ?? '', String(u.admin), time(u.created, csv)],
};
const WORKSPACE_ROWS: Rows<WorkspaceView> = {
  header: ['name', 'id', 'created'],
  row: (w, csv) => [w.name, w.id, time(w.created, csv)],
};
const TOKEN_ROWS: Rows<TokenView> = {
  header: ['id', 'name', 'user', 'scopes', 'created', 'expires', 'revoked'],
  row: (t, csv) => [
    t.id,
    t.name,
    t.user,
    t.scopes.join(','),
    time(t.created, csv),
    time(t.expires, csv),
    time(t.revoked, csv),
  ],
};

function render<T>(items: readonly T[], format: string, rows: Rows<T>): string {
  if (format === 'json') return toJson(items);
  const csv = format === 'csv';
  const body = items.map((item) => rows.row(item, csv));
  return csv ? renderCsv(rows.header, body) : renderTable(rows.header, body);
}

const formatOption = (c: Command) => c.option('--format <format>', 'table, json or csv', 'table');

export function registerAdminCommands(program: Command, ctx: CliContext): void {
  const admin = withExamples(
    program.command('admin').description('users, workspaces and tokens (needs a token with the admin scope)'),
    [
      'simscope admin users create ada --email ada@example.org',
      'simscope admin workspaces create fluids',
      'simscope admin workspaces add-member fluids ada',
      'simscope admin tokens create --user ada --name laptop --expires-in 90d',
    ],
  );
  const leaf = (parent: Command, name: string, description: string, examples: string[]) =>
    withExamples(withConnectionOptions(parent.command(name).description(description)), examples);
  const print = <T>(items: T[], format: string, rows: Rows<T>) =>
    ctx.stdout.write(render(items, checkFormat(format, FORMATS), rows));

  // Users.
  const users = withExamples(
    admin.command('users').description('create, list and delete users; set passwords'),
    ['simscope admin users list', 'simscope admin users create ada --email ada@example.org'],
  );
  formatOption(leaf(users, 'list', 'every user', ['simscope admin users list'])).action(
    async (o, command) => {
      print((await clientOf(ctx, command).call('listUsers')).items, o.format, USER_ROWS);
    },
  );
  formatOption(
    leaf(users, 'create', 'add a user', [
      'simscope admin users create ada --email ada@example.org',
      'simscope admin users create root2 --admin',
    ])
      .argument('<name>', 'user name')
      .option('--email <email>', 'address for notifications')
      .option('--admin', 'an administrator'),
  ).action(async (name: string, o, command) => {
    const user = await clientOf(ctx, command).call('createUser', {
      body: { name, ...(o.email ? { email: o.email } : {}), ...(o.admin ? { admin: true } : {}) },
    });
    print([user], o.format, USER_ROWS);
  });
  leaf(users, 'delete', 'delete a user and their tokens', ['simscope admin users delete ada --yes'])
    .argument('<user>', 'user name or id')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (user: string, o, command) => {
      const client = clientOf(ctx, command);
      await confirmOrYes(o.yes, `Delete user ${user} and their tokens?`);
      await client.call('deleteUser', { params: { user } });
      ctx.stdout.write(`deleted user ${user}\n`);
    });

  leaf(
    users,
    'set-password',
    "set a user's password for the web UI, read from stdin; their web sessions end",
    ['simscope admin users set-password ada < password.txt'],
  )
    .argument('<user>', 'user name or id')
    .action(async (user: string, _o, command) => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      const password = Buffer.concat(chunks)
        .toString('utf8')
        .replace(/\r?\n$/, '');
      await clientOf(ctx, command).call('setUserPassword', { params: { user }, body: { password } });
      ctx.stdout.write(`set the password of ${user}\n`);
    });

  // Workspaces and members.
  const workspaces = withExamples(
    admin.command('workspaces').description('create, list and delete workspaces; manage members'),
    ['simscope admin workspaces create fluids', 'simscope admin workspaces add-member fluids ada'],
  );
  formatOption(leaf(workspaces, 'list', 'every workspace', ['simscope admin workspaces list'])).action(
    async (o, command) => {
      const items = (await clientOf(ctx, command).call('listWorkspaces')).items;
      print(items, o.format, WORKSPACE_ROWS);
    },
  );
  formatOption(
    leaf(workspaces, 'create', 'add a workspace', ['simscope admin workspaces create fluids']).argument(
      '<name>',
      'letters, digits, _ . -',
    ),
  ).action(async (name: string, o, command) => {
    const ws = await clientOf(ctx, command).call('createWorkspace', { body: { name } });
    print([ws], o.format, WORKSPACE_ROWS);
  });
  leaf(workspaces, 'delete', 'delete a workspace and everything in it', [
    'simscope admin workspaces delete fluids --yes',
  ])
    .argument('<workspace>', 'workspace name or id')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ws: string, o, command) => {
      const client = clientOf(ctx, command);
      await confirmOrYes(o.yes, `Delete workspace ${ws} with all its runs?`);
      await client.call('deleteWorkspace', { params: { workspace: ws } });
      ctx.stdout.write(`deleted workspace ${ws}\n`);
    });
  formatOption(
    leaf(workspaces, 'members', "a workspace's members", [
      'simscope admin workspaces members fluids',
    ]).argument('<workspace>', 'workspace name or id'),
  ).action(async (ws: string, o, command) => {
    const items = (await clientOf(ctx, command).call('listMembers', { params: { workspace: ws } })).items;
    print(items, o.format, USER_ROWS);
  });
  formatOption(
    leaf(workspaces, 'add-member', 'add a user to a workspace', [
      'simscope admin workspaces add-member fluids ada',
    ])
      .argument('<workspace>', 'workspace name or id')
      .argument('<user>', 'user name or id'),
  ).action(async (ws: string, user: string, o, command) => {
    const answer = await clientOf(ctx, command).call('addMember', {
      params: { workspace: ws },
      body: { user },
    });
    print(answer.items, o.format, USER_ROWS);
  });
  leaf(workspaces, 'remove-member', 'take a user out of a workspace', [
    'simscope admin workspaces remove-member fluids ada',
  ])
    .argument('<workspace>', 'workspace name or id')
    .argument('<user>', 'user name or id')
    .action(async (ws: string, user: string, _o, command) => {
      await clientOf(ctx, command).call('removeMember', { params: { workspace: ws, user } });
      ctx.stdout.write(`removed ${user} from ${ws}\n`);
    });

  // Tokens.
  const tokens = withExamples(admin.command('tokens').description('create, list and revoke API tokens'), [
    'simscope admin tokens create --user ada --name laptop --expires-in 90d',
    'simscope admin tokens list --user ada',
  ]);
  formatOption(
    leaf(tokens, 'list', 'tokens (never their secrets)', [
      'simscope admin tokens list',
      'simscope admin tokens list --user ada',
    ]).option('--user <user>', "only this user's tokens"),
  ).action(async (o, command) => {
    const items = (await clientOf(ctx, command).call('listTokens', { query: { user: o.user } })).items;
    print(items, o.format, TOKEN_ROWS);
  });
  leaf(tokens, 'create', 'make a token; its secret is printed this once', [
    'simscope admin tokens create --user ada --name laptop',
    'simscope admin tokens create --user ada --name ci --scope read --expires-in 30d --format json',
  ])
    .requiredOption('--user <user>', 'user name or id')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--scope <scope>', 'read, write or admin; repeat for several (default read and write)', collect)
    .option('--expires-in <duration>', 'lifetime, e.g. 3600, 30d, 12w (default: never)')
    .option('--format <format>', 'text (the secret alone) or json', 'text')
    .action(async (o, command) => {
      const format = checkFormat(o.format, ['text', 'json'] as const);
      let expiresIn: number | undefined;
      if (o.expiresIn !== undefined) {
        expiresIn = parseDuration(o.expiresIn);
        if (!(expiresIn > 0)) throw new UsageError('--expires-in: must be more than 0');
      }
      const token = await clientOf(ctx, command).call('createToken', {
        body: {
          user: o.user,
          name: o.name,
          ...(o.scope ? { scopes: o.scope } : {}),
          ...(expiresIn ? { expiresIn } : {}),
        },
      });
      ctx.stdout.write(format === 'json' ? toJson(token) : `${token.token}\n`);
    });
  leaf(tokens, 'revoke', 'revoke a token at once', ['simscope admin tokens revoke lGaAE_vPZ-y2-A_T'])
    .argument('<token>', 'token id (from tokens list)')
    .action(async (id: string, _o, command) => {
      await clientOf(ctx, command).call('revokeToken', { params: { token: id } });
      ctx.stdout.write(`revoked ${id}\n`);
    });
}

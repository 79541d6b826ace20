import { homedir } from 'node:os';
import { readSimvueSettings, updateTomlFile, userConfigFile } from '@simscope/config';
import type { Command } from 'commander';
import { describeConnection, maskToken } from '../connection.js';
import { type CliContext, clientFor, flagsOf, withConnectionOptions, withExamples } from '../context.js';
import { deviceLogin } from '../device-login.js';
import { UsageError } from '../errors.js';
import { checkFormat, renderFields, toJson } from '../output.js';

/**
 * Saves a profile (`url`, `token`, and `workspace` when given) in the user config file and makes it the
 * default; other settings in the file are kept. The file is replaced atomically, mode 0600.
 */
function saveProfile(
  file: string,
  name: string,
  profile: { url: string; token: string; workspace?: string },
): void {
  updateTomlFile(file, (doc) => {
    doc.profiles = { ...(doc.profiles as object | undefined), [name]: profile };
    doc.default_profile = name;
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

export function registerLoginCommands(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('login')
      .description(
        'sign in to a server (in the browser, with a code, or with --token) and save the token as the default profile of the user config',
      )
      .requiredOption('--url <url>', 'server URL, e.g. https://simscope.example.org')
      .option(
        '--token <token>',
        "API token; '-' reads it from stdin (keeps it out of shell history); without it, sign in in a browser",
      )
      .option('--scope <scopes>', 'scopes to ask for when signing in in a browser', 'read write')
      .option('--profile <name>', 'profile name', 'default')
      .option('--workspace <name>', 'workspace to use with this profile')
      .option('--no-verify', 'save without asking the server')
      .option('--debug', 'print stack traces of errors'),
    [
      'simscope login --url https://simscope.example.org',
      'simscope login --url http://127.0.0.1:5280 --token ssk_…',
      'simscope login --url https://simscope.example.org --token - --profile cluster < token.txt',
    ],
  ).action(async (o) => {
    let url: string;
    try {
      url = new URL(o.url).toString().replace(/\/+$/, '');
    } catch {
      throw new UsageError(`--url: not a URL: '${o.url}'`);
    }
    const token =
      o.token === undefined
        ? await deviceLogin(url, o.scope, ctx.stdout)
        : o.token === '-'
          ? await readStdin()
          : o.token;
    if (!token) throw new UsageError('--token: empty');
    const file = userConfigFile(ctx.env);
    let who = '';
    if (o.verify) {
      const me = await clientFor({ url, token, workspace: o.workspace }).call('me');
      who = ` as ${me.user.name} (workspace ${me.workspace.name}; scopes ${me.token.scopes.join(', ')})`;
    }
    saveProfile(file, o.profile, { url, token, ...(o.workspace ? { workspace: o.workspace } : {}) });
    ctx.stdout.write(`Logged in to ${url}${who}; saved as profile '${o.profile}' in ${file}\n`);
  });

  const config = withExamples(
    program.command('config').description('where the CLI finds its server and token'),
    ['simscope config show', 'simscope config import-simvue'],
  );
  withExamples(
    config
      .command('import-simvue')
      .description(
        "save Simvue's server URL and token (SIMVUE_URL/SIMVUE_TOKEN, ./simvue.ini, ~/.simvue.ini) as a profile of the user config",
      )
      .option('--file <path>', 'read this simvue.ini instead of ./simvue.ini and ~/.simvue.ini')
      .option('--profile <name>', 'profile name', 'simvue')
      .option('--no-default', 'keep the default profile as it is')
      .option('--no-verify', 'save without asking the server'),
    [
      'simscope config import-simvue',
      'simscope config import-simvue --file ~/project/simvue.ini --profile cluster --no-default',
    ],
  ).action(async (o) => {
    const found = readSimvueSettings({
      env: ctx.env,
      cwd: ctx.cwd,
      home: ctx.env.HOME || homedir(),
      file: o.file,
    });
    const where = found.files.length > 0 ? found.files.join(', ') : 'no simvue.ini';
    if (found.url.value === null || found.token.value === null) {
      const missing = [found.url.value === null && 'url', found.token.value === null && 'token'].filter(
        Boolean,
      );
      throw new UsageError(
        `no Simvue ${missing.join(' or ')} found: set SIMVUE_URL and SIMVUE_TOKEN, or give [server] url and token in simvue.ini (read: ${where})`,
      );
    }
    let url: string;
    try {
      url = new URL(found.url.value).toString().replace(/\/+$/, '');
    } catch {
      throw new UsageError(`${found.url.source}: not a URL: '${found.url.value}'`);
    }
    const token = found.token.value;
    if (o.verify) await clientFor({ url, token, workspace: undefined }).call('me');
    const file = userConfigFile(ctx.env);
    updateTomlFile(file, (doc) => {
      doc.profiles = { ...(doc.profiles as object | undefined), [o.profile]: { url, token } };
      if (o.default) doc.default_profile = o.profile;
    });
    ctx.stdout.write(
      `Saved profile '${o.profile}'${o.default ? ' (the default)' : ''} in ${file}: url ${url} from ${found.url.source}, token ${maskToken(token)} from ${found.token.source}\n`,
    );
  });
  withExamples(
    withConnectionOptions(
      config
        .command('show')
        .description('the server, token, workspace and profile in use, and where each comes from')
        .option('--show-token', 'print the token in full')
        .option('--format <format>', 'text or json', 'text'),
    ),
    ['simscope config show', 'SIMSCOPE_PROFILE=cluster simscope config show --format json'],
  ).action((o, command: Command) => {
    const format = checkFormat(o.format, ['text', 'json'] as const);
    const report = describeConnection(flagsOf(command), ctx.env, ctx.cwd);
    if (report.token.value && !o.showToken) report.token.value = maskToken(report.token.value);
    if (format === 'json') {
      ctx.stdout.write(toJson(report));
      return;
    }
    const show = (s: { value: string | null; source: string }) =>
      s.value === null ? `(${s.source})` : `${s.value}  (${s.source})`;
    ctx.stdout.write(
      renderFields([
        ['config file', report.configFile],
        ['project file', report.projectFile ?? '(none)'],
        ['profile', show(report.profile)],
        ['url', show(report.url)],
        ['token', show(report.token)],
        ['workspace', show(report.workspace)],
        ['profiles', report.profiles.map((p) => `${p.name}${p.default ? '*' : ''}`).join(', ') || '(none)'],
      ]),
    );
  });
}

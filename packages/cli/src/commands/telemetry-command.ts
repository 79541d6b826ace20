import { describeConsent, setTelemetryConsent, telemetryStatus } from '@simscope/telemetry';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { withExamples } from '../context.js';
import { UsageError } from '../errors.js';

export function registerTelemetryCommand(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('telemetry')
      .description(
        'whether libraries built on Simscope telemetry may send usage records from this machine (kept in the user config)',
      )
      .option('--enable', 'allow usage telemetry')
      .option('--disable', 'turn usage telemetry off: no network at all')
      .option('--status', 'say whether it is on, and why (the default)'),
    ['simscope telemetry --status', 'simscope telemetry --disable', 'DO_NOT_TRACK=1 python run.py'],
  ).action((o) => {
    if (o.enable && o.disable) throw new UsageError('--enable and --disable: choose one');
    const options = { env: ctx.env, cwd: ctx.cwd };
    if (o.enable || o.disable) {
      const wanted = o.enable === true;
      const status = setTelemetryConsent(wanted, options);
      ctx.stdout.write(`Telemetry ${wanted ? 'enabled' : 'disabled'} in ${status.userConfigFile}.\n`);
      if (status.enabled !== wanted) ctx.stdout.write(`${describeConsent(status)}\n`);
      return;
    }
    ctx.stdout.write(`${describeConsent(telemetryStatus(options))}\n`);
  });
}

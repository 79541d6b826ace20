import type { EventInfo } from '@simscope/client';
import { EVENT_LEVELS, parseDuration } from '@simscope/protocol';
import type { Command } from 'commander';
import { type CliContext, clientOf, intOption, withConnectionOptions, withExamples } from '../context.js';
import { UsageError } from '../errors.js';
import { checkFormat, csvRows, toJson } from '../output.js';
import { withProgress } from '../progress.js';

const ENDED = new Set(['completed', 'failed', 'terminated']);

function localMillis(micros: number): string {
  const d = new Date(micros / 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** One event as a line of text: local time, level, message. */
function eventLine(e: EventInfo): string {
  return `${localMillis(e.timestamp)} ${e.level.padEnd(8)} ${e.message}\n`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function registerEventsCommand(program: Command, ctx: CliContext): void {
  withExamples(
    withConnectionOptions(
      program
        .command('events')
        .description(
          "a run's events (log lines), oldest first; --follow waits for new ones until the run ends",
        )
        .argument('<run>', 'run id or name')
        .option('--level <levels>', `comma-separated levels: ${EVENT_LEVELS.join(', ')}`)
        .option('--contains <text>', 'only messages containing this text (any case)')
        .option('--tail <n>', 'only the last n events', intOption('--tail'))
        .option('-f, --follow', 'keep printing new events until the run ends')
        .option('--interval <duration>', 'how often --follow asks for new events', '1s')
        .option('--format <format>', 'text, json (an array), jsonl (one object a line) or csv', 'text'),
    ),
    [
      'simscope events cavity-re100',
      'simscope events cavity-re100 --level warning,error --tail 20',
      'simscope events cavity-re100 --follow',
      'simscope events cavity-re100 --follow --format jsonl | jq -r .message',
    ],
  ).action(async (run: string, options, command: Command) => {
    const format = checkFormat(options.format, ['text', 'json', 'jsonl', 'csv'] as const);
    if (options.follow && format === 'json') {
      throw new UsageError('--follow prints events as they come: use --format jsonl, text or csv');
    }
    const intervalMs = parseDuration(options.interval) * 1000;
    const client = clientOf(ctx, command);
    const query = { q: options.contains, level: options.level };
    const events = (eventQuery: Record<string, string | number | undefined>, limit?: number) =>
      withProgress(
        client.pages('listEvents', { params: { run }, query: eventQuery, limit, pageSize: 10_000 }),
        'events',
        ctx.stderr,
      );
    const all = async (pages: AsyncIterable<EventInfo[]>) => {
      const out: EventInfo[] = [];
      for await (const page of pages) out.push(...page);
      return out;
    };

    let initial: EventInfo[];
    if (options.tail) initial = (await all(events({ ...query, order: 'desc' }, options.tail))).reverse();
    else initial = await all(events(query));

    if (format === 'json') {
      ctx.stdout.write(toJson(initial));
      return;
    }
    const print = (events: EventInfo[]) => {
      if (events.length === 0) return;
      if (format === 'jsonl') ctx.stdout.write(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      else if (format === 'csv') ctx.stdout.write(csvRows(events.map((e) => [e.time, e.level, e.message])));
      else ctx.stdout.write(events.map(eventLine).join(''));
    };
    if (format === 'csv') ctx.stdout.write(csvRows([['time', 'level', 'message']]));
    print(initial);
    if (!options.follow) return;

    // Resume after the last event shown: from its timestamp, skipping the ones at that instant already shown.
    let lastTs = initial.at(-1)?.timestamp ?? 0;
    let shownAtLast = initial.filter((e) => e.timestamp === lastTs).length;
    for (let ended = false; ; ) {
      const fresh: EventInfo[] = [];
      let skip = shownAtLast;
      for await (const page of events({ ...query, from: lastTs })) {
        for (const e of page) {
          if (e.timestamp === lastTs && skip > 0) {
            skip--;
            continue;
          }
          fresh.push(e);
        }
      }
      print(fresh);
      for (const e of fresh) {
        if (e.timestamp === lastTs) shownAtLast++;
        else {
          lastTs = e.timestamp;
          shownAtLast = 1;
        }
      }
      if (ended) return;
      ended = ENDED.has((await client.call('getRun', { params: { run } })).status);
      if (!ended) await sleep(intervalMs);
    }
  });
}

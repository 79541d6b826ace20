import type { EventInfo, RunInfo } from '@simscope/client';
import { EVENT_LEVELS, parseDuration } from '@simscope/protocol';
import type { Command } from 'commander';
import { seg } from '../api.js';
import { apiOf, type CliContext, intOption, withConnectionOptions, withExamples } from '../context.js';
import { UsageError } from '../errors.js';
import { checkFormat, csvRows, toJson } from '../output.js';

const ENDED = new Set(['completed', 'failed', 'terminated']);

function localMillis(micros: number): string {
  const d = new Date(micros / 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** One event as a line of text: local time, level, message. */
export function eventLine(e: EventInfo): string {
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
    const api = apiOf(ctx, command);
    const query = { q: options.contains, level: options.level };
    const path = `/runs/${seg(run)}/events`;

    let initial: EventInfo[];
    if (options.tail) {
      initial = (
        await api.list<EventInfo>(
          path,
          { ...query, order: 'desc' },
          { limit: options.tail, pageSize: 10_000, label: 'events' },
        )
      ).reverse();
    } else {
      initial = await api.list<EventInfo>(path, query, {
        limit: Number.POSITIVE_INFINITY,
        pageSize: 10_000,
        label: 'events',
      });
    }

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
      for await (const page of api.pages<EventInfo>(
        path,
        { ...query, from: lastTs },
        {
          limit: Number.POSITIVE_INFINITY,
          pageSize: 10_000,
          label: 'events',
        },
      )) {
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
      ended = ENDED.has((await api.get<RunInfo>(`/runs/${seg(run)}`)).status);
      if (!ended) await sleep(intervalMs);
    }
  });
}

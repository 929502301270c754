/**
 * `polar-lake parse FILE [--jsonl] [--tokenizer fast|saxes|sax] [--strict-time-order]`: how a person
 * checks one file. Without --jsonl it prints what the file holds (format, device, laps,
 * points, time span, fields present) or the error with its position; with --jsonl every
 * record, one JSON object per line with sorted keys (the golden files' format).
 * Exit status 1 when the file is rejected.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { assertFile } from '../input-path.ts';
import { DEFAULT_TOKENIZER, type FileInfo, ParseError, TOKENIZER_NAMES, type TokenizerName, parseFile } from '../../parse/index.ts';

function sortedJson(value: object): string {
  return JSON.stringify(value, Object.keys(value).sort());
}

function iso(us: number | null): string {
  return us === null ? '-' : new Date(Math.floor(us / 1000)).toISOString();
}

function summary(info: FileInfo, laps: number, routePoints: number): string {
  const span = info.first_time_utc_us !== null && info.last_time_utc_us !== null ? (info.last_time_utc_us - info.first_time_utc_us) / 1e6 : null;
  return [
    `format      ${info.source_format} (${info.content})`,
    `device      ${info.creator_name ?? '-'}${info.creator_version ? ` ${info.creator_version}` : ''}${info.author_name ? ` / ${info.author_name}` : ''}`,
    `sport       ${info.sport ?? '-'}`,
    `activities  ${info.activity_count}`,
    `laps        ${laps}`,
    `points      ${info.sample_count} (dropped without time: ${info.dropped_point_count}, ignored waypoints, course points, transitions: ${info.ignored_point_count})`,
    `route       ${routePoints} points`,
    `salvaged    ${info.time_backwards_count} backwards times, ${info.value_unparseable_count} unparseable values (null), ${info.decimal_comma_count} decimal commas, ${info.time_unparseable_count} points with an unreadable time (dropped)`,
    `time span   ${iso(info.first_time_utc_us)} .. ${iso(info.last_time_utc_us)}${span === null ? '' : ` (${span} s)`}${info.utc_offset_min === null ? '' : `, local offset ${info.utc_offset_min} min`}`,
    `fields      ${info.fields_present.join(', ') || '-'}`,
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('parse')
    .description('parse one TCX / GPX / FIT file (gzip or not) and print what it holds, or every record with --jsonl')
    .argument('<file>', 'path of the file')
    .option('--jsonl', 'print every record as JSON lines (samples, laps, routes, then the file record)')
    .option('--tokenizer <name>', `XML tokenizer: ${TOKENIZER_NAMES.join(', ')}`, DEFAULT_TOKENIZER)
    .option('--keep-time-order', 'the default (kept so older scripts still run)')
    .option('--strict-time-order', 'reject the file (PL_PARSE_TIME_ORDER) when an instant goes backwards, instead of keeping and flagging it')
    .action(async (file: string, opts: { jsonl?: boolean; tokenizer: string; strictTimeOrder?: boolean }) => {
      if (!(TOKENIZER_NAMES as readonly string[]).includes(opts.tokenizer)) {
        program.error(`--tokenizer must be one of ${TOKENIZER_NAMES.join(', ')}, got ${JSON.stringify(opts.tokenizer)}`);
      }
      assertFile(file);
      const ctx = { userId: 'local', exerciseId: basename(file), file, utcOffsetMin: null };
      let laps = 0;
      let routePoints = 0;
      try {
        for await (const out of parseFile(createReadStream(file), 'auto', ctx, {
          tokenizer: opts.tokenizer as TokenizerName,
          timeOrder: opts.strictTimeOrder ? 'reject' : 'keep',
        })) {
          if (out.table === 'file') {
            if (opts.jsonl) process.stdout.write(sortedJson({ table: 'file', ...out.info }) + '\n');
            else process.stdout.write(summary(out.info, laps, routePoints) + '\n');
          } else {
            if (out.table === 'laps') laps += out.rows.length;
            if (out.table === 'routes') routePoints += out.rows.length;
            if (opts.jsonl) process.stdout.write(out.rows.map((r) => sortedJson({ table: out.table, ...r })).join('\n') + '\n');
          }
        }
      } catch (error) {
        if (!(error instanceof ParseError)) throw error;
        const where = [error.line !== null ? `line ${error.line}, column ${error.column}` : null, error.byteOffset !== null ? `byte ${error.byteOffset}` : null].filter(Boolean).join(', ');
        if (opts.jsonl) process.stdout.write(sortedJson({ table: 'error', ...error.toJSON() }) + '\n');
        process.stderr.write(`error       ${error.code} at ${where || 'start'}: ${error.message}\n`);
        process.exitCode = 1;
      }
    });
}

import type { Command } from 'commander';
import { ConfigError } from '../../errors.ts';
import { runReplay } from '../../jobs/replay/job.ts';
import { createJobProgress, printJobSummary } from '../../jobs/progress.ts';
import type { PayloadKind } from '../../records/envelope.ts';
import { commandContext } from '../context.ts';
import { DATE_BASED_ENDPOINTS } from '../../daily/endpoints.ts';
import { EXIT } from '../exit-codes.ts';

// Imported exercises (`polar-lake import`) have no summary: their file gives the exercise row too.
const TABLE_PAYLOADS: Record<string, PayloadKind[]> = {
  exercises: ['summary', 'flow', 'hrm', 'ppt', 'fit', 'tcx', 'gpx'],
  samples: ['fit', 'tcx', 'gpx', 'flow', 'hrm', 'ppt'],
  laps: ['fit', 'tcx', 'gpx', 'flow', 'hrm', 'ppt'],
  // Listing channel: inline in the summary; transactional: their own payloads.
  exercise_series: ['summary', 'samples'],
  rr_intervals: ['summary', 'samples'],
  hr_zones: ['summary', 'zones'],
  // Listing routes come inline in the summary; course files are parsed like any file.
  routes: ['summary', 'fit', 'tcx', 'gpx'],
  source_files: ['fit', 'tcx', 'gpx'],
  // Every date-based table: the one type that feeds it (src/daily/endpoints.ts).
  ...Object.fromEntries(DATE_BASED_ENDPOINTS.flatMap((e) => e.tables.map((t) => [t, [e.kind]]))),
  // The legacy activity transactions store their sample parts apart; physical information has its own payload.
  activity_step_samples: ['activity', 'activity_steps'],
  activity_zone_samples: ['activity', 'activity_zones'],
  physical_info: ['physical'],
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function dateOption(value: string | undefined, flag: string): string | undefined {
  if (value !== undefined && !DATE.test(value)) throw new ConfigError(`${flag} must be a date YYYY-MM-DD, got ${JSON.stringify(value)}`, flag);
  return value;
}

/**
 * `polar-lake replay`: rebuilds tables from the raw zone, the source of truth (after a parser
 * fix or a schema change), in parallel worker threads, resumable after a crash (a journal in
 * the state folder), with progress on stderr and a summary on stdout (src/jobs/replay/job.ts).
 * The sink's manifests recognise every source: replaying never doubles a row.
 */
export function register(program: Command): void {
  program
    .command('replay')
    .description('re-parse every raw object into the lake (idempotent: replaces, never doubles)')
    .option('--table <table>', `only the payloads feeding one table (${Object.keys(TABLE_PAYLOADS).join(', ')})`)
    .option('--users <ids>', 'only these users (comma-separated)')
    .option('--since <date>', 'only exercises started / days on or after this local date (YYYY-MM-DD)')
    .option('--until <date>', 'only exercises started / days on or before this local date (YYYY-MM-DD)')
    .option('--workers <n>', 'parse worker threads (default: the machine\'s cores)')
    .option('--restart', 'ignore the journal of an unfinished replay with the same filter and start over')
    .option('--json', 'print the summary as JSON')
    .option('--pipeline <file>', 'pipeline file')
    .action(async (opts: { table?: string; users?: string; since?: string; until?: string; workers?: string; restart?: boolean; json?: boolean; pipeline?: string }) => {
      const { config, pipeline, logger } = commandContext(opts.pipeline ? { pipelineFile: opts.pipeline } : {});
      const payloads = opts.table ? TABLE_PAYLOADS[opts.table] : undefined;
      if (opts.table && !payloads) throw new ConfigError(`unknown table "${opts.table}" (allowed: ${Object.keys(TABLE_PAYLOADS).join(', ')})`, '--table');
      const workers = opts.workers === undefined ? undefined : Number(opts.workers);
      if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) throw new ConfigError(`--workers must be a whole number ≥ 1, got ${JSON.stringify(opts.workers)}`, '--workers');
      const users = opts.users?.split(',').map((u) => u.trim()).filter((u) => u !== '');
      const since = dateOption(opts.since, '--since');
      const until = dateOption(opts.until, '--until');
      const progress = createJobProgress({ job: 'replay', unit: 'raw objects' });
      const report = await runReplay({
        lakeDir: config.lakeDir, stateDir: config.stateDir, pipeline, progress, logger,
        filter: { ...(payloads ? { payloads } : {}), ...(users ? { users } : {}), ...(since ? { since } : {}), ...(until ? { until } : {}) },
        ...(workers !== undefined ? { workers } : {}),
        ...(opts.restart ? { restart: true } : {}),
      });
      progress.count('workers', report.workers);
      for (const [table, rows] of Object.entries(report.rows)) if (rows > 0) progress.count(`rows_${table}`, rows);
      const summary = progress.finish();
      printJobSummary(summary, opts.json ? { json: true } : {});
      process.exitCode = summary.failed > 0 ? EXIT.partial : EXIT.ok;
    });
}

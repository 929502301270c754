import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { resolve } from 'node:path';
import { assertLake } from '../../lake/lake-root.ts';
import { QUERY_FORMATS, runLakeQuery, type QueryFormat } from '../../lake/query.ts';

/**
 * The lake a reading command works on: `--lake DIR`, else POLAR_LAKE_DIR (default ./lake, read in
 * one place: src/config.ts). A folder that is not a lake is a PL_LAKE_NOT_FOUND error.
 */
export function existingLakeDir(flag: string | undefined): string {
  return assertLake(flag ? resolve(flag) : loadConfig().lakeDir);
}

/** `polar-lake query "<SQL>" [--format table|csv|json|parquet] [--output FILE] [--lake DIR]` */
export function register(program: Command): void {
  program
    .command('query')
    .description('run SQL over the lake views (samples, laps, exercises, daily_activity, sleep, routes, source_files)')
    .argument('<sql>', 'one SQL statement, e.g. "SELECT sport, count(*) FROM exercises GROUP BY ALL"')
    .option('--format <format>', `output format: ${QUERY_FORMATS.join(', ')}`, 'table')
    .option('--output <file>', 'write to this file instead of stdout (required for parquet)')
    .option('--lake <dir>', 'lake folder (default: $POLAR_LAKE_DIR or ./lake)')
    .action(async (sql: string, opts: { format: string; output?: string; lake?: string }) => {
      if (!QUERY_FORMATS.includes(opts.format as QueryFormat)) {
        console.error(`--format must be one of ${QUERY_FORMATS.join(', ')}, got "${opts.format}"`);
        process.exitCode = 2;
        return;
      }
      const text = await runLakeQuery({
        lakeRoot: existingLakeDir(opts.lake),
        sql,
        format: opts.format as QueryFormat,
        ...(opts.output ? { output: opts.output } : {}),
      });
      process.stdout.write(text);
    });
}

import type { Command } from 'commander';
import { compactLake } from '../../lake/compact.ts';
import { openLakeDuckDB } from '../../lake/duckdb.ts';
import { TABLE_NAMES } from '../../lake/schema.ts';
import type { TableName } from '../../records/rows.ts';
import { existingLakeDir } from './query.ts';
import { loadConfig } from '../../config.ts';
import { ConfigError } from '../../errors.ts';
import { loadPipeline } from '../../pipeline/load.ts';

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`expected a whole number from 1 up, got ${JSON.stringify(text)}`, flag);
  return n;
}

/** `polar-lake compact [--table t] [--lake DIR]`: merges small streamed files; safe while the sink runs. */
export function register(program: Command): void {
  program
    .command('compact')
    .description('merge the small files streaming wrote into large sorted zstd files (safe while the pipeline runs)')
    .option('--table <table>', `only this table: ${TABLE_NAMES.join(', ')}`)
    .option('--lake <dir>', 'lake folder (default: $POLAR_LAKE_DIR or ./lake)')
    .option('--target-file-bytes <n>', 'size a merged file aims for (default: the pipeline\'s sink.compact_target_file_bytes)')
    .option('--row-group-rows <n>', 'rows per row group (default: the pipeline\'s sink.row_group_rows)')
    .option('--pipeline <file>', 'pipeline file whose sink settings apply (default: POLAR_LAKE_PIPELINE or pipelines/default.yaml)')
    .action(async (opts: { table?: string; lake?: string; targetFileBytes?: string; rowGroupRows?: string; pipeline?: string }) => {
      if (opts.table && !TABLE_NAMES.includes(opts.table as TableName)) {
        console.error(`--table must be one of ${TABLE_NAMES.join(', ')}, got "${opts.table}"`);
        process.exitCode = 2;
        return;
      }
      const { sink } = loadPipeline(opts.pipeline ?? loadConfig().pipelineFile);
      const db = await openLakeDuckDB();
      try {
        const done = await compactLake(db.conn, existingLakeDir(opts.lake), {
          targetFileBytes: opts.targetFileBytes ? positive(opts.targetFileBytes, '--target-file-bytes') : sink.compact_target_file_bytes,
          rowGroupRows: opts.rowGroupRows ? positive(opts.rowGroupRows, '--row-group-rows') : sink.row_group_rows,
          compression: sink.compression,
          ...(opts.table ? { tables: [opts.table as TableName] } : {}),
        });
        for (const c of done) console.log(`${c.table}/${c.partition}: ${c.inputFiles} files -> ${c.outputFiles} (${c.rows} rows)`);
        if (done.length === 0) console.log('nothing to compact');
      } finally {
        db.close();
      }
    });
}

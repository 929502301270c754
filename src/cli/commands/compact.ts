import type { Command } from 'commander';
import { resolve } from 'node:path';
import { compactLake } from '../../lake/compact.ts';
import { openLakeDuckDB } from '../../lake/duckdb.ts';
import { TABLE_NAMES } from '../../lake/schema.ts';
import type { TableName } from '../../records/rows.ts';
import { defaultLakeDir } from './query.ts';

/** `polar-lake compact [--table t] [--lake DIR]`: merges small streamed files; safe while the sink runs. */
export function register(program: Command): void {
  program
    .command('compact')
    .description('merge the small files streaming wrote into large sorted zstd files (safe while the pipeline runs)')
    .option('--table <table>', `only this table: ${TABLE_NAMES.join(', ')}`)
    .option('--lake <dir>', 'lake folder (default: $POLAR_LAKE_DIR or ./lake)')
    .option('--target-file-bytes <n>', 'size a merged file aims for', '268435456')
    .option('--row-group-rows <n>', 'rows per row group', '500000')
    .action(async (opts: { table?: string; lake?: string; targetFileBytes: string; rowGroupRows: string }) => {
      if (opts.table && !TABLE_NAMES.includes(opts.table as TableName)) {
        console.error(`--table must be one of ${TABLE_NAMES.join(', ')}, got "${opts.table}"`);
        process.exitCode = 2;
        return;
      }
      const db = await openLakeDuckDB();
      try {
        const done = await compactLake(db.conn, opts.lake ? resolve(opts.lake) : defaultLakeDir(), {
          targetFileBytes: Number(opts.targetFileBytes),
          rowGroupRows: Number(opts.rowGroupRows),
          ...(opts.table ? { tables: [opts.table as TableName] } : {}),
        });
        for (const c of done) console.log(`${c.table}/${c.partition}: ${c.inputFiles} files -> ${c.outputFiles} (${c.rows} rows)`);
        if (done.length === 0) console.log('nothing to compact');
      } finally {
        db.close();
      }
    });
}

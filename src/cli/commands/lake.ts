import type { Command } from 'commander';
import { lakeDoctor } from '../../lake/doctor.ts';
import { openLakeDuckDB } from '../../lake/duckdb.ts';
import { renderTable } from '../../lake/format.ts';
import { existingLakeDir } from './query.ts';

/** `polar-lake lake doctor [--lake DIR] [--json]`: file counts, sizes, row groups; flags unhealthy partitions. */
export function register(program: Command): void {
  const lake = program.command('lake').description('inspect the lake');
  lake
    .command('doctor')
    .description('files, bytes, rows and row-group sizes per table; flags partitions that need compaction')
    .option('--lake <dir>', 'lake folder (default: $POLAR_LAKE_DIR or ./lake)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { lake?: string; json?: boolean }) => {
      const db = await openLakeDuckDB();
      try {
        const report = await lakeDoctor(db.conn, existingLakeDir(opts.lake));
        if (opts.json) {
          console.log(JSON.stringify(report, null, 2));
        } else {
          const cols = ['table', 'partitions', 'files', 'bytes', 'rows', 'row_groups', 'unhealthy_partitions'] as const;
          process.stdout.write(renderTable(cols, report.tables.map((t) => cols.map((c) => t[c]))));
          for (const p of report.partitions) for (const problem of p.problems) console.log(`UNHEALTHY ${p.table}/${p.partition}: ${problem}`);
          console.log(report.healthy ? 'lake is healthy' : 'lake has unhealthy partitions');
        }
        if (!report.healthy) process.exitCode = 1;
      } finally {
        db.close();
      }
    });
}

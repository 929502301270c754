/**
 * Lake health: per table and partition, files, bytes, rows and row-group sizes, with the
 * problems that make queries slow or results wrong flagged.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral, TABLE_NAMES } from './schema.ts';
import { listPartitions } from './views.ts';

export interface DoctorOptions {
  /** A file under this size counts as small. @default 33554432 (32 MiB) */
  readonly smallFileBytes?: number;
  /** More small files than this in one partition is unhealthy. @default 8 */
  readonly maxSmallFiles?: number;
  /** Row groups should hold at least this many rows (DuckDB's advice: 100k-1M). @default 100000 */
  readonly minRowGroupRows?: number;
}

export interface PartitionHealth {
  readonly table: string;
  readonly partition: string;
  readonly files: number;
  readonly small_files: number;
  readonly bytes: number;
  readonly rows: number;
  readonly row_groups: number;
  readonly avg_row_group_rows: number;
  readonly problems: string[];
}

export interface TableHealth {
  readonly table: string;
  readonly partitions: number;
  readonly files: number;
  readonly bytes: number;
  readonly rows: number;
  readonly row_groups: number;
  readonly unhealthy_partitions: number;
}

export interface DoctorReport {
  readonly tables: TableHealth[];
  readonly partitions: PartitionHealth[];
  readonly healthy: boolean;
}

export async function lakeDoctor(conn: DuckDBConnection, lakeRoot: string, options: DoctorOptions = {}): Promise<DoctorReport> {
  const smallBytes = options.smallFileBytes ?? 32 * 1024 * 1024;
  const maxSmall = options.maxSmallFiles ?? 8;
  const minRg = options.minRowGroupRows ?? 100_000;
  const partitions: PartitionHealth[] = [];
  const tables: TableHealth[] = [];
  for (const table of TABLE_NAMES) {
    const parts = listPartitions(lakeRoot, table);
    for (const p of parts) {
      const files = p.manifest.files;
      let rowGroups = 0;
      if (files.length > 0) {
        const list = files.map((f) => quoteLiteral(join(p.dir, f.name))).join(', ');
        const r = await conn.runAndReadAll(`SELECT count(DISTINCT (file_name, row_group_id))::BIGINT FROM parquet_metadata([${list}])`);
        rowGroups = Number(r.getRows()[0]?.[0] ?? 0);
      }
      const rows = files.reduce((n, f) => n + f.rows, 0);
      const small = files.filter((f) => f.bytes < smallBytes).length;
      const avgRg = rowGroups > 0 ? Math.round(rows / rowGroups) : 0;
      const problems: string[] = [];
      if (small > maxSmall) problems.push(`${small} small files (under ${smallBytes} bytes): run polar-lake compact`);
      if (rows > minRg && avgRg < minRg) problems.push(`row groups average ${avgRg} rows (under ${minRg}): run polar-lake compact`);
      const live = new Set(files.map((f) => f.name));
      const orphans = (existsSync(p.dir) ? readdirSync(p.dir) : []).filter((n) => n.endsWith('.parquet') && !live.has(n));
      if (orphans.length > 0) problems.push(`${orphans.length} uncommitted Parquet files (left by a crash; the next commit removes them, glob readers see them)`);
      partitions.push({ table, partition: p.partition, files: files.length, small_files: small, bytes: files.reduce((n, f) => n + f.bytes, 0), rows, row_groups: rowGroups, avg_row_group_rows: avgRg, problems });
    }
    const mine = partitions.filter((p) => p.table === table);
    tables.push({
      table,
      partitions: mine.length,
      files: mine.reduce((n, p) => n + p.files, 0),
      bytes: mine.reduce((n, p) => n + p.bytes, 0),
      rows: mine.reduce((n, p) => n + p.rows, 0),
      row_groups: mine.reduce((n, p) => n + p.row_groups, 0),
      unhealthy_partitions: mine.filter((p) => p.problems.length > 0).length,
    });
  }
  return { tables, partitions, healthy: partitions.every((p) => p.problems.length === 0) };
}

/**
 * `polar-lake query`: one read-only SQL statement over the lake's views, printed as a table, CSV
 * or JSON lines, or written to a Parquet file. The connection reaches only the lake
 * (./query-guard.ts).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { PolarLakeError } from '../errors.ts';
import { renderCsv, renderJson, renderTable, type Cell } from './format.ts';
import { quoteLiteral } from './schema.ts';
import { assertLake } from './lake-root.ts';
import { assertSingleReadStatement, lockDownToLake } from './query-guard.ts';
import { withLakeSnapshot } from './views.ts';

export type QueryFormat = 'table' | 'csv' | 'json' | 'parquet';
export const QUERY_FORMATS: readonly QueryFormat[] = ['table', 'csv', 'json', 'parquet'];

export interface LakeQuery {
  readonly lakeRoot: string;
  readonly sql: string;
  /** @default 'table' */
  readonly format?: QueryFormat;
  /** Output file; required for parquet, stdout otherwise when absent. */
  readonly output?: string;
}

export class QueryFailedError extends PolarLakeError {
  readonly code = 'PL_QUERY_FAILED';
  readonly kind = 'config';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A DuckDB value as text for the table and CSV outputs: DuckDB's own spelling for nested and temporal types. */
function displayCell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  return String(value); // bigint, and DuckDB value objects (INTERVAL, STRUCT, MAP, LIST, DECIMAL, BLOB, ...) print as DuckDB does
}

/** Runs the query; returns the rendered text (empty when written to `output`). */
export async function runLakeQuery(q: LakeQuery): Promise<string> {
  const format = q.format ?? 'table';
  if (format === 'parquet' && !q.output) throw new QueryFailedError('--format parquet needs --output FILE');
  const lakeRoot = assertLake(q.lakeRoot);
  const sql = q.sql.trim().replace(/;+$/, '');
  // The statement is checked (prepared, never run) before the lock-down, so that a COPY or an
  // ATTACH is refused for what it is rather than failing on a file permission.
  const afterViews = async (conn: DuckDBConnection) => {
    await assertSingleReadStatement(conn, sql);
    await lockDownToLake(conn, { lakeRoot, ...(format === 'parquet' ? { extraFiles: [q.output as string] } : {}) });
  };
  try {
    const text = await withLakeSnapshot(lakeRoot, async (conn) => {
      if (format === 'parquet') {
        await conn.run(`COPY (${sql}) TO ${quoteLiteral(resolve(q.output as string))} (FORMAT parquet, COMPRESSION zstd)`);
        return '';
      }
      const reader = await conn.runAndReadAll(sql);
      const columns = reader.columnNames();
      if (format === 'json') return renderJson(columns, reader.getRowsJson());
      const rows = reader.getRows().map((row) => row.map(displayCell));
      return format === 'csv' ? renderCsv(columns, rows) : renderTable(columns, rows);
    }, { afterViews });
    if (q.output && format !== 'parquet') {
      writeFileSync(q.output, text);
      return '';
    }
    return text;
  } catch (cause) {
    if (cause instanceof PolarLakeError) throw cause;
    throw new QueryFailedError(`query failed: ${(cause as Error).message}`, { cause });
  }
}

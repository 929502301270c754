/**
 * `polar-lake query`: one SQL statement over the lake's views, printed as a table, CSV or
 * JSON lines, or written to a Parquet file.
 */
import { writeFileSync } from 'node:fs';
import { PolarLakeError } from '../errors.ts';
import { renderCsv, renderJson, renderTable, type Cell } from './format.ts';
import { quoteLiteral } from './schema.ts';
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

/** Runs the query; returns the rendered text (empty when written to `output`). */
export async function runLakeQuery(q: LakeQuery): Promise<string> {
  const format = q.format ?? 'table';
  if (format === 'parquet' && !q.output) throw new QueryFailedError('--format parquet needs --output FILE');
  const sql = q.sql.trim().replace(/;+$/, '');
  try {
    const text = await withLakeSnapshot(q.lakeRoot, async (conn) => {
      if (format === 'parquet') {
        await conn.run(`COPY (${sql}) TO ${quoteLiteral(q.output as string)} (FORMAT parquet, COMPRESSION zstd)`);
        return '';
      }
      const reader = await conn.runAndReadAll(sql);
      const columns = reader.columnNames();
      const rows = reader.getRowsJson() as Cell[][];
      return format === 'csv' ? renderCsv(columns, rows) : format === 'json' ? renderJson(columns, rows) : renderTable(columns, rows);
    });
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

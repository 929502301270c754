/**
 * Opens the DuckDB the lake code works with: in memory (or a given file), with the session
 * time zone pinned to UTC so TIMESTAMPTZ values print and cast the same on every host.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export interface LakeDuckDB {
  readonly instance: DuckDBInstance;
  readonly conn: DuckDBConnection;
  close(): void;
}

export interface OpenDuckDBOptions {
  /** Database file. @default ':memory:' */
  readonly path?: string;
  /** DuckDB worker threads; the machine is shared, so stay modest. @default 2 */
  readonly threads?: number;
}

export async function openLakeDuckDB(options: OpenDuckDBOptions = {}): Promise<LakeDuckDB> {
  const instance = await DuckDBInstance.create(options.path ?? ':memory:', { threads: String(options.threads ?? 2) });
  const conn = await instance.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  // Results with ORDER BY keep their order; without this, COPY writes Parquet on one thread.
  await conn.run('SET preserve_insertion_order = false');
  return {
    instance,
    conn,
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

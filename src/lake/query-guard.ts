/**
 * Makes a DuckDB connection safe for `polar-lake query`, which runs SQL typed by a person:
 *
 * - one statement, and only a read (SELECT, including DESCRIBE/SHOW/SUMMARIZE/PRAGMA reads that
 *   DuckDB plans as SELECT, or EXPLAIN): no COPY, ATTACH, INSTALL/LOAD, SET, CREATE, CALL;
 * - file access limited to the lake folder (and the one output file the user asked for), then
 *   external access and the configuration locked, so the statement cannot widen them again and
 *   cannot read `<state>/secret.key` or anything else outside the lake;
 * - no extension installed or loaded behind the user's back.
 *
 * Each refusal is a QueryRefusedError naming what was refused.
 */
import { resolve, sep } from 'node:path';
import { StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { PolarLakeError } from '../errors.ts';
import { quoteLiteral } from './schema.ts';

export class QueryRefusedError extends PolarLakeError {
  readonly code = 'PL_QUERY_REFUSED';
  readonly kind = 'config';
}

const READ_STATEMENTS: ReadonlySet<StatementType> = new Set([StatementType.SELECT, StatementType.EXPLAIN]);

/** Refuses anything but exactly one read-only statement; DuckDB's own parser decides. */
export async function assertSingleReadStatement(conn: DuckDBConnection, sql: string): Promise<void> {
  let extracted;
  try {
    extracted = await conn.extractStatements(sql);
  } catch (cause) {
    throw new QueryRefusedError(`the query does not parse: ${(cause as Error).message}`, { cause });
  }
  if (extracted.count === 0) throw new QueryRefusedError('the query is empty');
  if (extracted.count > 1) throw new QueryRefusedError(`one statement per query, got ${extracted.count}`);
  // A statement that parses but does not bind (unknown table, a file outside the lake) fails
  // here with DuckDB's own message; the caller reports it as a failed query, not a refusal.
  const prepared = await extracted.prepare(0);
  const type = prepared.statementType;
  prepared.destroySync();
  if (!READ_STATEMENTS.has(type)) {
    throw new QueryRefusedError(`only read-only statements (SELECT, EXPLAIN) are allowed over the lake, got ${StatementType[type] ?? type}`);
  }
}

export interface LockDownOptions {
  /** The only folder DuckDB may read. */
  readonly lakeRoot: string;
  /** Single files DuckDB may also touch (the Parquet output file the user named). */
  readonly extraFiles?: readonly string[];
}

/** Confines the connection to the lake, turns extension loading off and locks the configuration. */
export async function lockDownToLake(conn: DuckDBConnection, options: LockDownOptions): Promise<void> {
  const dir = resolve(options.lakeRoot) + sep;
  const files = (options.extraFiles ?? []).map((f) => resolve(f));
  await conn.run(`SET allowed_directories = [${quoteLiteral(dir)}]`);
  if (files.length > 0) await conn.run(`SET allowed_paths = [${files.map(quoteLiteral).join(', ')}]`);
  await conn.run('SET enable_external_access = false');
  await conn.run('SET autoinstall_known_extensions = false');
  await conn.run('SET autoload_known_extensions = false');
  await conn.run('SET lock_configuration = true');
}

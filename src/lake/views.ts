/**
 * DuckDB views over the lake, one per table.
 *
 * `openLakeViews` reads every partition manifest and creates each view over the exact list
 * of committed files: one consistent snapshot, so a query never sees a row twice or missing
 * while the sink or compaction replaces files. `schemas/views.sql` is the static variant
 * for notebooks and the DuckDB CLI (a glob over the folders; see docs/lake.md for the
 * difference). `union_by_name` keeps files of older schema versions readable: a column they
 * lack reads as NULL.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { readManifest, type Manifest } from './manifest.ts';
import { LEGACY_MANIFEST_NAME, MANIFEST_FILE, manifestsRoot, partitionLayout, type PartitionLayout } from './layout.ts';
import { openLakeDuckDB, type LakeDuckDB } from './duckdb.ts';
import { loadTableSchema, quoteIdent, quoteLiteral, TABLE_NAMES, type TableSchema } from './schema.ts';

export interface PartitionManifest {
  /** The partition folder (its Parquet files). */
  readonly dir: string;
  readonly partition: string;
  readonly layout: PartitionLayout;
  readonly manifest: Manifest;
}

/** Partitions (`year=2026/month=03`) under `root` whose folder holds a file named `marker`. */
function partitionsWith(root: string, marker: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    const names = readdirSync(dir);
    if (names.includes(marker)) out.push(relative(root, dir).split(sep).join('/'));
    for (const name of names) {
      const path = join(dir, name);
      if (name.includes('=') && statSync(path).isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

/** Every partition of a table that has a manifest (in the metadata area, or in its folder in an old-layout lake). */
export function listPartitions(lakeRoot: string, table: string): PartitionManifest[] {
  const partitions = new Set([...partitionsWith(manifestsRoot(lakeRoot, table), MANIFEST_FILE), ...partitionsWith(join(lakeRoot, table), LEGACY_MANIFEST_NAME)]);
  return [...partitions]
    .sort((a, b) => a.localeCompare(b))
    .map((partition) => {
      const layout = partitionLayout(lakeRoot, table, partition);
      return { dir: layout.data, partition, layout, manifest: readManifest(layout, table, partition) };
    });
}

/** Committed files of a table, as absolute paths. */
export function liveFiles(lakeRoot: string, table: string): string[] {
  return listPartitions(lakeRoot, table).flatMap((p) => p.manifest.files.map((f) => join(p.dir, f.name)));
}

/** `hive_types = {...}`: without it DuckDB reads `month=03` as the string '03'. */
export function hiveTypes(schema: TableSchema): string {
  return `hive_types = {${schema.partition_by.map((p) => `${quoteLiteral(p.name)}: ${p.type}`).join(', ')}}`;
}

function emptySelect(schema: TableSchema): string {
  const cols = [...schema.columns.map((c) => `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`), ...schema.partition_by.map((p) => `CAST(NULL AS ${p.type}) AS ${quoteIdent(p.name)}`)];
  return `SELECT ${cols.join(', ')} WHERE false`;
}

/** (Re)creates one view per table over the committed files of `lakeRoot`. */
export async function createLakeViews(conn: DuckDBConnection, lakeRoot: string): Promise<void> {
  for (const table of TABLE_NAMES) {
    const schema = loadTableSchema(table);
    const files = liveFiles(lakeRoot, table);
    const body =
      files.length === 0
        ? emptySelect(schema)
        : `SELECT * FROM read_parquet([${files.map(quoteLiteral).join(', ')}], hive_partitioning = true, ${hiveTypes(schema)}, union_by_name = true)`;
    await conn.run(`CREATE OR REPLACE VIEW ${quoteIdent(table)} AS ${body}`);
  }
}

/**
 * Runs `fn` over a fresh snapshot of the lake's views. A snapshot lists committed files; if a
 * commit (compaction, a re-parse) deletes one of them before the query reads it, the query
 * fails with a missing file rather than miscounting, and is run again on a new snapshot.
 * `afterViews` runs once, when the first views exist (the query command checks the statement
 * against them and then locks the connection down to the lake).
 */
export async function withLakeSnapshot<T>(
  lakeRoot: string,
  fn: (conn: DuckDBConnection) => Promise<T>,
  options: { readonly attempts?: number; readonly afterViews?: (conn: DuckDBConnection) => Promise<void> } = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  const db = await openLakeDuckDB();
  try {
    for (let attempt = 1; ; attempt++) {
      await createLakeViews(db.conn, lakeRoot);
      if (attempt === 1) await options.afterViews?.(db.conn);
      try {
        return await fn(db.conn);
      } catch (error) {
        const vanished = /No such file|No files found|Cannot open file|could not open|does not exist/i.test((error as Error).message ?? '');
        if (!vanished || attempt >= attempts) throw error;
      }
    }
  } finally {
    db.close();
  }
}

/** An in-memory DuckDB (UTC) with the lake's views. */
export async function openLakeViews(lakeRoot: string): Promise<LakeDuckDB> {
  const db = await openLakeDuckDB();
  await createLakeViews(db.conn, lakeRoot);
  return db;
}

/**
 * Compaction: merges the small files streaming wrote in a partition into files near
 * `targetFileBytes`, sorted by the table's sort key, zstd, row groups of `rowGroupRows`.
 *
 * Order of operations, under the partition lock the sink also takes: write the merged file
 * (tmp + fsync + rename), commit the manifest that lists it instead of its inputs (the one
 * atomic step: a reader through the manifests counts the same rows before and after), then
 * delete the inputs. The merged file keeps every input's source batches, so a later replay
 * or re-parse of a source that now lives in it is still recognised. Files of an older
 * schema version are rewritten to the current one (union_by_name fills new columns with NULL).
 * Running it twice changes nothing: a partition with fewer than two small files is left alone.
 */
import { createHash } from 'node:crypto';
import { statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { withPartitionLock } from './lock.ts';
import { publishTmp, removeOrphans } from './partition-writer.ts';
import { partitionLayout, tmpPathFor } from './layout.ts';
import { readManifest, writeManifest, type BatchEntry, type ManifestFile } from './manifest.ts';
import type { ParquetCompression } from './parquet-writer.ts';
import { loadTableSchema, quoteIdent, quoteLiteral, TABLE_NAMES } from './schema.ts';
import { listPartitions } from './views.ts';
import type { TableName } from '../records/rows.ts';

export interface CompactOptions {
  /** Size a merged file aims for. @default 268435456 */
  readonly targetFileBytes?: number;
  /** Rows per row group of merged files (DuckDB recommends 100k-1M). @default 500000 */
  readonly rowGroupRows?: number;
  /** @default 'zstd' */
  readonly compression?: ParquetCompression;
  /** Only these tables. @default all */
  readonly tables?: readonly TableName[];
}

export interface CompactedPartition {
  readonly table: string;
  readonly partition: string;
  readonly inputFiles: number;
  readonly outputFiles: number;
  readonly rows: number;
}

export async function compactLake(conn: DuckDBConnection, lakeRoot: string, options: CompactOptions = {}): Promise<CompactedPartition[]> {
  const out: CompactedPartition[] = [];
  for (const table of options.tables ?? TABLE_NAMES) {
    for (const p of listPartitions(lakeRoot, table)) {
      const result = await compactPartition(conn, lakeRoot, table, p.partition, options);
      if (result) out.push(result);
    }
  }
  return out;
}

export async function compactPartition(
  conn: DuckDBConnection,
  lakeRoot: string,
  table: TableName,
  partition: string,
  options: CompactOptions = {},
): Promise<CompactedPartition | undefined> {
  const target = options.targetFileBytes ?? 268_435_456;
  const schema = loadTableSchema(table);
  const layout = partitionLayout(lakeRoot, table, partition);
  const dir = layout.data;
  return withPartitionLock(layout.lock, async (lock) => {
    const manifest = readManifest(layout, table, partition);
    // A merge killed before its commit left a .tmp (or an unlisted file): not part of the lake.
    removeOrphans(layout, new Set(manifest.files.map((f) => f.name)));
    // Small = under half the target, or written under an older schema version.
    const small = manifest.files.filter((f) => f.bytes < target / 2 || f.schema_version !== schema.version);
    if (small.length < 2 && !small.some((f) => f.schema_version !== schema.version)) return undefined;
    // Greedy groups of about `target` bytes, in manifest (write) order.
    const groups: ManifestFile[][] = [];
    let current: ManifestFile[] = [];
    let bytes = 0;
    for (const f of small) {
      if (current.length > 0 && bytes + f.bytes > target) {
        groups.push(current);
        current = [];
        bytes = 0;
      }
      current.push(f);
      bytes += f.bytes;
    }
    if (current.length > 0) groups.push(current);

    const merged: ManifestFile[] = [];
    const columns = schema.columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${c.type}) AS ${quoteIdent(c.name)}`).join(', ');
    const order = [...schema.sort_by, 'source_id', 'source_row'].map(quoteIdent).join(', ');
    for (const group of groups) {
      const names = group.map((f) => f.name).sort();
      const name = `compact-${createHash('sha1').update(names.join('|')).digest('hex').slice(0, 24)}.parquet`;
      const path = join(dir, name);
      const tmp = tmpPathFor(layout, name);
      const inputs = group.map((f) => quoteLiteral(join(dir, f.name))).join(', ');
      await conn.run(
        `COPY (SELECT ${columns} FROM read_parquet([${inputs}], union_by_name = true) ORDER BY ${order}) TO ${quoteLiteral(tmp)} ` +
          `(FORMAT parquet, COMPRESSION ${options.compression ?? 'zstd'}, ROW_GROUP_SIZE ${options.rowGroupRows ?? 500_000})`,
      );
      await publishTmp(layout, tmp, path, 'compact.merge');
      const sources: Record<string, BatchEntry[]> = {};
      for (const f of group) for (const [s, entries] of Object.entries(f.sources)) (sources[s] ??= []).push(...entries);
      merged.push({ name, rows: group.reduce((n, f) => n + f.rows, 0), bytes: statSync(path).size, schema_version: schema.version, sources });
    }
    const inputs = new Set(small.map((f) => f.name));
    await writeManifest(layout, { ...manifest, generation: manifest.generation + 1, files: [...manifest.files.filter((f) => !inputs.has(f.name)), ...merged] }, lock);
    for (const name of inputs) unlinkSync(join(dir, name));
    return { table, partition, inputFiles: small.length, outputFiles: merged.length, rows: merged.reduce((n, f) => n + f.rows, 0) };
  });
}

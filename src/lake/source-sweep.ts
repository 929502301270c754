/**
 * A source's newest parse replaces its rows in the partitions it writes (src/lake/partition-writer.ts,
 * src/lake/staging.ts). Rows an older version left in a partition the newest parse does not
 * write stay unless someone looks there: a re-synced night whose hypnogram became empty (no
 * sleep_stages row at all now), a day whose step list emptied, a night whose stages moved from
 * one month's partition to the next.
 *
 * So a source's final batch may name its span, the local days (epoch days) any version of its
 * rows can fall on (a date-based day: its date ± 2, src/stages/parse.ts); once the newest parse
 * of the source is committed, the partitions of that span it did not write drop the source's
 * rows, each in one manifest commit under its partition lock. A partition that does not exist
 * or does not list the source costs one manifest read. A crash in between leaves the old rows
 * until the redelivered batch sweeps again: never a row lost from the newest version.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { withPartitionLock } from './lock.ts';
import { readManifest, writeManifest, type BatchEntry, type ManifestFile } from './manifest.ts';
import type { ParquetWriteOptions } from './parquet-writer.ts';
import { removeOrphans, rewriteFile } from './partition-writer.ts';
import { partitionOfDay } from './partition.ts';
import { partitionLayout } from './layout.ts';
import { quoteLiteral, type TableSchema } from './schema.ts';

/** Local epoch days [first, last] where a source's rows may lie (any version). */
export type SourceSpan = readonly [number, number];

/** The span field of a record batch head, or null when absent or malformed. */
export function readSpan(value: unknown): SourceSpan | null {
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [a, b] = value as unknown[];
  return Number.isInteger(a) && Number.isInteger(b) && (a as number) <= (b as number) && (b as number) - (a as number) <= 31 ? [a as number, b as number] : null;
}

/** The table's partitions the span's days fall in. */
export function partitionsOfSpan(schema: TableSchema, span: SourceSpan): string[] {
  const out = new Set<string>();
  for (let day = span[0]; day <= span[1]; day++) out.add(partitionOfDay(schema, day));
  return [...out];
}

/** A source whose newest parse is committed: its span, and the partitions that parse wrote. */
export interface SourceSweep {
  readonly sourceId: string;
  readonly span: SourceSpan;
  readonly written: ReadonlySet<string>;
}

/**
 * Drops each source's rows from its span's partitions other than those its newest parse wrote
 * (there the commit itself replaced them): one lock, manifest read and commit per partition for
 * all the sources of a flush. Returns the rows removed.
 */
export async function dropSourcesElsewhere(
  conn: DuckDBConnection,
  lakeRoot: string,
  schema: TableSchema,
  sweeps: readonly SourceSweep[],
  writeOptions: ParquetWriteOptions,
): Promise<number> {
  const byPartition = new Map<string, Set<string>>();
  for (const { sourceId, span, written } of sweeps) {
    for (const partition of partitionsOfSpan(schema, span)) {
      if (written.has(partition)) continue;
      let sources = byPartition.get(partition);
      if (!sources) byPartition.set(partition, (sources = new Set()));
      sources.add(sourceId);
    }
  }
  let removed = 0;
  for (const [partition, gone] of [...byPartition].sort(([a], [b]) => a.localeCompare(b))) {
    const layout = partitionLayout(lakeRoot, schema.name, partition);
    if (!existsSync(layout.data)) continue;
    removed += await withPartitionLock(layout.lock, async (lock) => {
      const manifest = readManifest(layout, schema.name, partition);
      const holds = (f: ManifestFile) => Object.keys(f.sources).filter((s) => gone.has(s));
      if (!manifest.files.some((f) => holds(f).length > 0)) return 0;
      removeOrphans(layout, new Set(manifest.files.map((f) => f.name)));
      const files: ManifestFile[] = [];
      const replaced: string[] = [];
      let rows = 0;
      for (const f of manifest.files) {
        const hit = holds(f);
        if (hit.length === 0) {
          files.push(f);
          continue;
        }
        replaced.push(f.name);
        const sources: Record<string, BatchEntry[]> = { ...f.sources };
        for (const s of hit) delete sources[s];
        const where = `"source_id" NOT IN (${hit.sort().map(quoteLiteral).join(', ')})`;
        const rewritten = await rewriteFile(conn, layout, schema, f, where, sources, writeOptions);
        rows += f.rows - (rewritten?.rows ?? 0);
        if (rewritten) files.push(rewritten);
      }
      await writeManifest(layout, { ...manifest, generation: manifest.generation + 1, files }, lock);
      for (const name of replaced) unlinkSync(join(layout.data, name));
      return rows;
    });
  }
  return removed;
}

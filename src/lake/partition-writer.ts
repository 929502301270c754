/**
 * Commits buffered source batches to one partition, exactly once in effect.
 *
 * Every row carries its lineage (`source_id`, `source_row`) and the partition manifest
 * records, per file, each source batch it holds as [row_offset, row_count, hash of the
 * batch message]. Under the partition lock:
 *
 * 1. a batch already recorded with the same offset, count and hash is a replay (Kafka
 *    replay, redelivery after a crash between commit and ack, re-fetch of the same object)
 *    and is dropped;
 * 2. a batch recorded with different content is a re-parse (parser fix): the old rows of
 *    that source from its offset on are removed (files holding them are rewritten without
 *    them), and a source's `last` batch also removes old rows past its end;
 * 3. the new rows go to one new file named from the batches it holds (deterministic: a
 *    retry writes the same name, never a second copy);
 * 4. the manifest is replaced atomically (the commit), then replaced files are deleted.
 *
 * The caller acknowledges the bus batches only after this resolves.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { withPartitionLock, type HeldPartitionLock } from './lock.ts';
import { readManifest, writeManifest, type BatchEntry, type ManifestFile } from './manifest.ts';
import { renameDurable } from '../fs/durable.ts';
import { lakeWriteError, writeParquet, type ParquetWriteOptions, type RowSegment } from './parquet-writer.ts';
import type { CrashPointName } from '../crash-points.ts';
import { LEGACY_LOCK_FILE, partitionLayout, tmpDirs, tmpPathFor, type PartitionLayout } from './layout.ts';
import { listPartitions } from './views.ts';

/** Name prefix of promoted staged files (src/lake/staging.ts). */
export const STAGED_PREFIX = 'stage-';
import { quoteIdent, quoteLiteral, type TableSchema } from './schema.ts';

/** The rows of one source batch that fall in one partition. */
export interface PartitionBatch extends RowSegment {
  /** Rows in the whole batch (all partitions). */
  readonly batchRows: number;
  readonly last: boolean;
  /** Hash of the batch's content (the bus message value). */
  readonly hash: string;
  /** `count`, `columns`, `sourceRows` (RowSegment): the rows that fall in this partition. */
}

export interface CommitResult {
  readonly written: number;
  readonly skipped: number;
  readonly removedFiles: number;
  readonly file: string | null;
  /** Bytes of the Parquet file written (0 when none). */
  readonly bytes: number;
}

function entryKey(sourceId: string, e: BatchEntry): string {
  return `${sourceId}:${e[0]}:${e[1]}:${e[2]}`;
}

/**
 * Deletes what a crash before a commit left: Parquet files in the partition folder that the
 * manifest does not list, and everything in the partition's tmp folder (and the temporaries an
 * old-layout lake kept in the partition folder). Call it holding the partition lock.
 */
export function removeOrphans(layout: PartitionLayout, live: ReadonlySet<string>): number {
  let removed = 0;
  if (existsSync(layout.data)) {
    for (const name of readdirSync(layout.data)) {
      // `stage-*` files are a staged source being promoted (src/lake/staging.ts): its staging record owns them.
      if ((name.endsWith('.parquet') && !live.has(name) && !name.startsWith(STAGED_PREFIX)) || name.endsWith('.tmp')) {
        unlinkSync(join(layout.data, name));
        removed++;
      }
    }
  }
  for (const tmp of tmpDirs(layout)) {
    if (!existsSync(tmp)) continue;
    for (const entry of readdirSync(tmp, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      unlinkSync(join(tmp, entry.name));
      removed++;
    }
  }
  return removed;
}

/**
 * Moves what an old-layout lake kept in a partition folder into the metadata area: the
 * manifest (rewritten there, then removed) and its PID lock file, which means nothing to this
 * version's leases (old-version writers are stopped before an upgrade: docs/lake.md). Call it
 * holding the partition lock.
 */
async function migratePartition(layout: PartitionLayout, table: string, partition: string, lock: HeldPartitionLock): Promise<void> {
  if (existsSync(layout.legacyManifest)) await writeManifest(layout, readManifest(layout, table, partition), lock);
  rmSync(join(layout.data, LEGACY_LOCK_FILE), { force: true });
}

/**
 * Removes what crashes left in the partitions of `tables` (files no manifest lists,
 * temporaries) and moves an old-layout partition's metadata out of its folder, each under its
 * partition lock so a commit in flight is never touched. The sink runs it at start: without
 * it, a folder no later commit touches would keep an orphan that a glob reader
 * (schemas/views.sql) counts. Returns the files removed.
 */
export async function sweepPartitions(lakeRoot: string, tables: readonly string[]): Promise<number> {
  let removed = 0;
  for (const table of tables) {
    for (const p of listPartitions(lakeRoot, table)) {
      removed += await withPartitionLock(p.layout.lock, async (lock) => {
        await migratePartition(p.layout, table, p.partition, lock);
        return removeOrphans(p.layout, new Set(readManifest(p.layout, table, p.partition).files.map((f) => f.name)));
      });
    }
  }
  return removed;
}

/** Makes a complete file written at `tmp` (the partition's tmp folder) appear at `out`: fsync, then one atomic rename (same file system). */
export async function publishTmp(layout: PartitionLayout, tmp: string, out: string, crashPoint?: CrashPointName): Promise<void> {
  await renameDurable(tmp, out, { ...(crashPoint ? { crashPoint } : {}), error: (cause) => lakeWriteError(`in partition ${layout.data}`, out, cause) });
}

/**
 * Makes a complete file elsewhere in the lake (a staged file) appear at `out` in the
 * partition: a rename when both are on one file system; when the partition folder is a mount
 * of its own (EXDEV), a copy into the partition's tmp folder and then the rename, so a reader
 * never sees a partial file. The source is left for its owner to remove.
 */
export async function moveIntoPartition(layout: PartitionLayout, from: string, out: string): Promise<void> {
  await renameDurable(from, out, {
    acrossFileSystemsVia: tmpPathFor(layout, basename(out)),
    error: (cause) => lakeWriteError(`in partition ${layout.data}`, out, cause),
  });
}

/**
 * Batches reach a commit in bus order. A source parsed again (a re-synced day, a parser fix)
 * starts over at a lower row offset, so a later batch supersedes every earlier batch of the
 * same source at or after its offset: only the newest parse's rows go on to the manifest
 * check. Without this, an old and a new version meeting in one commit (a topic replay from
 * offset 0, two sweeps before one flush) would both be written.
 */
export function latestParse(batches: readonly PartitionBatch[]): PartitionBatch[] {
  const out: PartitionBatch[] = [];
  for (const b of batches) {
    for (let i = out.length - 1; i >= 0; i--) {
      const earlier = out[i] as PartitionBatch;
      if (earlier.sourceId === b.sourceId && earlier.rowOffset >= b.rowOffset) out.splice(i, 1);
    }
    out.push(b);
  }
  return out;
}

/**
 * Writes `f` again without the rows `where` excludes, as a new file (tmp + fsync + rename) that
 * holds `sources`; null when no row is left. The caller commits the manifest and deletes `f`.
 */
export async function rewriteFile(
  conn: DuckDBConnection,
  layout: PartitionLayout,
  schema: TableSchema,
  f: ManifestFile,
  where: string,
  sources: Record<string, BatchEntry[]>,
  writeOptions: ParquetWriteOptions,
): Promise<ManifestFile | null> {
  const name = `part-${createHash('sha1').update(`${f.name}|${where}`).digest('hex').slice(0, 24)}.parquet`;
  const out = join(layout.data, name);
  const tmp = tmpPathFor(layout, name);
  await conn.run(
    `COPY (SELECT * FROM read_parquet(${quoteLiteral(join(layout.data, f.name))}) WHERE ${where} ORDER BY ${schema.sort_by.map(quoteIdent).join(', ')}, "source_id", "source_row") ` +
      `TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION ${writeOptions.compression ?? 'zstd'}, ROW_GROUP_SIZE ${writeOptions.rowGroupRows ?? 500_000})`,
  );
  const reader = await conn.runAndReadAll(`SELECT count(*)::BIGINT FROM read_parquet(${quoteLiteral(tmp)})`);
  const rows = Number(reader.getRows()[0]?.[0] ?? 0);
  if (rows === 0) {
    unlinkSync(tmp);
    return null;
  }
  await publishTmp(layout, tmp, out);
  return { name, rows, bytes: statSync(out).size, schema_version: schema.version, sources };
}

export async function commitPartition(
  conn: DuckDBConnection,
  lakeRoot: string,
  schema: TableSchema,
  partition: string,
  batches: readonly PartitionBatch[],
  writeOptions: ParquetWriteOptions = {},
): Promise<CommitResult> {
  const layout = partitionLayout(lakeRoot, schema.name, partition);
  return withPartitionLock(layout.lock, async (lock) => {
    const manifest = readManifest(layout, schema.name, partition);
    removeOrphans(layout, new Set(manifest.files.map((f) => f.name)));
    const recorded = new Set<string>();
    for (const f of manifest.files) for (const [s, entries] of Object.entries(f.sources)) for (const e of entries) recorded.add(entryKey(s, e));

    // Which old rows to remove: source → remove rows with source_row >= threshold.
    const removeFrom = new Map<string, number>();
    const keep: PartitionBatch[] = [];
    let skipped = 0;
    for (const b of latestParse(batches)) {
      const entry: BatchEntry = [b.rowOffset, b.batchRows, b.hash];
      if (recorded.has(entryKey(b.sourceId, entry))) {
        skipped += b.count;
      } else {
        recorded.add(entryKey(b.sourceId, entry)); // the same batch twice in one buffer: keep one
        keep.push(b);
        removeFrom.set(b.sourceId, Math.min(removeFrom.get(b.sourceId) ?? Infinity, b.rowOffset));
      }
      if (b.last) removeFrom.set(b.sourceId, Math.min(removeFrom.get(b.sourceId) ?? Infinity, b.rowOffset + b.batchRows));
    }

    // Rewrite the files that hold rows to remove.
    const files: ManifestFile[] = [];
    const replaced: string[] = [];
    for (const f of manifest.files) {
      const hits = [...removeFrom].filter(([s, from]) => (f.sources[s] ?? []).some((e) => e[0] + e[1] > from));
      if (hits.length === 0) {
        files.push(f);
        continue;
      }
      replaced.push(f.name);
      const sources: Record<string, BatchEntry[]> = {};
      for (const [s, entries] of Object.entries(f.sources)) {
        const from = removeFrom.get(s) ?? Infinity;
        // A batch cut in two can never match a replay again: mark it partial.
        const left = entries.filter((e) => e[0] < from).map((e): BatchEntry => (e[0] + e[1] > from ? [e[0], from - e[0], 'partial'] : e));
        if (left.length > 0) sources[s] = left;
      }
      const where = hits.map(([s, from]) => `NOT ("source_id" = ${quoteLiteral(s)} AND "source_row" >= ${from})`).join(' AND ');
      const rewritten = await rewriteFile(conn, layout, schema, f, where, sources, writeOptions);
      if (rewritten) files.push(rewritten);
    }

    let file: string | null = null;
    let bytes = 0;
    const written = keep.reduce((n, b) => n + b.count, 0);
    if (written > 0) {
      const keys = keep.map((b) => `${b.sourceId}:${b.rowOffset}:${b.batchRows}:${b.hash}`).sort();
      file = `part-${createHash('sha1').update(`${partition}|${keys.join('|')}`).digest('hex').slice(0, 24)}.parquet`;
      const sources: Record<string, BatchEntry[]> = {};
      for (const b of keep) if (b.count > 0) (sources[b.sourceId] ??= []).push([b.rowOffset, b.batchRows, b.hash]);
      const out = await writeParquet(conn, schema, { segments: keep }, join(layout.data, file), writeOptions, tmpPathFor(layout, file));
      files.push({ name: file, rows: out.rows, bytes: out.bytes, schema_version: schema.version, sources });
      bytes = out.bytes;
    }

    if (written > 0 || replaced.length > 0) {
      await writeManifest(layout, { ...manifest, generation: manifest.generation + 1, files }, lock);
      for (const name of replaced) unlinkSync(join(layout.data, name));
    }
    return { written, skipped, removedFiles: replaced.length, file, bytes };
  });
}

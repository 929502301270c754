/**
 * All or nothing per source: the rows one raw object yields reach readers together or not
 * at all.
 *
 * A source whose rows arrive over several sink flushes (a large file, or batches that came
 * apart on the bus) is *staged* first: each flush writes that source's rows of each partition
 * to a Parquet file under `<lake>/_polar_lake/staging/<table>/` (src/lake/layout.ts: outside
 * the table folder, so no folder reader and no manifest sees it; named `*.staged`) and records
 * it in the source's staging record, `<hash of source_id>.json` beside it (tmp + fsync + rename). The bus batch is
 * acknowledged then: staged rows are durable, memory holds nothing of the source.
 *
 * The source's final batch (`last`) *promotes* it: per partition, under the partition lock,
 * the staged files are renamed into the partition folder (`stage-*.parquet`) and the manifest
 * that lists them is committed, which also drops any old version of the source's rows there
 * (a re-parse). An abort marker (the parser failed part-way) or a new parse of the same
 * source *discards* the staging instead: its rows are never listed anywhere.
 *
 * Crash safety: every step is redone from the staging record when the unacknowledged batch
 * comes again. A staged file is named from the batches it holds (a retry writes the same
 * name); a promoted file already in the manifest is skipped; a renamed but not yet committed
 * `stage-*` file is found in the partition folder (commits there leave `stage-*` files alone).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { crashPoint } from '../crash-points.ts';
import { PolarLakeError } from '../errors.ts';
import { withPartitionLock } from './lock.ts';
import { readManifest, writeManifest, type BatchEntry, type ManifestFile } from './manifest.ts';
import { renameDurable, syncFolder, writeFileDurable } from '../fs/durable.ts';
import { lakeWriteError, writeParquet, type ParquetWriteOptions } from './parquet-writer.ts';
import { moveIntoPartition, removeOrphans, rewriteFile, STAGED_PREFIX, type PartitionBatch } from './partition-writer.ts';
import { legacyStagingDir, partitionLayout, stagingDir } from './layout.ts';
import { quoteLiteral, type TableSchema } from './schema.ts';

export interface StagedFile {
  /** File name: `<record>-<hash>.staged` in the staging folder, `stage-<record>-<hash>.parquet` once promoted. */
  readonly name: string;
  readonly rows: number;
  readonly bytes: number;
  readonly batches: BatchEntry[];
}

export interface StagedPartition {
  readonly files: StagedFile[];
  /** Batches of this parse already live in the partition with the same content (a replay). */
  readonly kept: BatchEntry[];
}

export interface StagingRecord {
  readonly format: 1;
  readonly table: string;
  readonly source_id: string;
  /** Every batch of this parse seen so far, in all partitions (a batch with no valid row too). */
  readonly batches: BatchEntry[];
  readonly partitions: Record<string, StagedPartition>;
}

/** A source's final batch came, but its batches do not cover rows 0..end: promoting it would lose rows. */
export class SinkSourceIncompleteError extends PolarLakeError {
  readonly code = 'PL_SINK_SOURCE_INCOMPLETE';
  readonly kind = 'terminal';
  constructor(
    readonly table: string,
    readonly source_id: string,
    readonly missing_from_row: number,
  ) {
    super(`${table}: source ${source_id} ended but its batches miss rows from ${missing_from_row}; nothing of it was made visible (replay it from the raw zone)`);
  }
}

const entryKey = (e: BatchEntry): string => `${e[0]}:${e[1]}:${e[2]}`;

export { stagingDir } from './layout.ts';

/**
 * Moves an old-layout lake's staging (`<lake>/<table>/_staging/`) into the metadata area, so
 * its staged sources are promoted or discarded as if staged there. The sink runs it at start,
 * before it stages anything. Returns the files moved.
 */
export async function migrateLegacyStaging(lakeRoot: string, table: string): Promise<number> {
  const legacy = legacyStagingDir(lakeRoot, table);
  if (!existsSync(legacy)) return 0;
  const dir = stagingDir(lakeRoot, table);
  mkdirSync(dir, { recursive: true });
  let moved = 0;
  for (const name of readdirSync(legacy)) {
    const from = join(legacy, name);
    const to = join(dir, name);
    if (!name.endsWith('.tmp') && !existsSync(to)) {
      // A table folder on its own mount is copied across (then the old one removed below).
      await renameDurable(from, to, { acrossFileSystemsVia: `${to}.tmp`, error: (cause) => lakeWriteError(`staging of ${table}`, to, cause) });
      moved++;
    }
    // A `.tmp` is a write a crash cut short (never referenced); a name already moved is a copy.
    if (existsSync(from)) unlinkSync(from);
  }
  rmdirSync(legacy);
  return moved;
}

function recordId(sourceId: string): string {
  return createHash('sha1').update(sourceId).digest('hex').slice(0, 24);
}

function recordPath(lakeRoot: string, table: string, sourceId: string): string {
  return join(stagingDir(lakeRoot, table), `${recordId(sourceId)}.json`);
}

export function readStaging(lakeRoot: string, table: string, sourceId: string): StagingRecord | undefined {
  const file = recordPath(lakeRoot, table, sourceId);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as StagingRecord;
}

async function writeStaging(lakeRoot: string, record: StagingRecord): Promise<void> {
  const file = recordPath(lakeRoot, record.table, record.source_id);
  mkdirSync(stagingDir(lakeRoot, record.table), { recursive: true });
  await writeFileDurable(file, JSON.stringify(record), { mode: 0o666, tempPath: `${file}.tmp`, error: (cause) => lakeWriteError(`the staging record of ${record.source_id}`, file, cause) });
}

/** Sources with a staging record (staged, not yet promoted or discarded). */
export function stagedSources(lakeRoot: string, table: string): number {
  const dir = stagingDir(lakeRoot, table);
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')).length : 0;
}

/**
 * Forgets a source's staging: the record goes first (after that nothing refers to the files),
 * then its files, in the staging folder and any renamed into a partition folder but not committed.
 * Returns the rows discarded.
 */
export function discardStaging(lakeRoot: string, table: string, sourceId: string): number {
  const record = readStaging(lakeRoot, table, sourceId);
  const file = recordPath(lakeRoot, table, sourceId);
  if (existsSync(file)) unlinkSync(file);
  const prefix = recordId(sourceId);
  const dir = stagingDir(lakeRoot, table);
  if (existsSync(dir)) for (const name of readdirSync(dir)) if (name.startsWith(prefix) && name !== `${prefix}.json`) unlinkSync(join(dir, name));
  let rows = 0;
  for (const [partition, staged] of Object.entries(record?.partitions ?? {})) {
    const layout = partitionLayout(lakeRoot, table, partition);
    const pdir = layout.data;
    const live = new Set(readManifest(layout, table, partition).files.map((f) => f.name));
    for (const f of staged.files) {
      const promoted = `${STAGED_PREFIX}${f.name.replace(/\.staged$/, '.parquet')}`;
      if (live.has(promoted)) continue;
      rows += f.rows;
      if (existsSync(join(pdir, promoted))) unlinkSync(join(pdir, promoted));
    }
  }
  return rows;
}

/**
 * Stages one flush's batches of a source. `entries` are the source's batches in this flush in
 * bus order (also those with no row in any partition), `byPartition` their rows. A batch that
 * overlaps a staged one with other content starts a new parse: the old staging is discarded.
 */
export async function stageSource(
  conn: DuckDBConnection,
  lakeRoot: string,
  schema: TableSchema,
  sourceId: string,
  entries: readonly BatchEntry[],
  byPartition: ReadonlyMap<string, readonly PartitionBatch[]>,
  writeOptions: ParquetWriteOptions,
): Promise<StagingRecord> {
  let record = readStaging(lakeRoot, schema.name, sourceId);
  const known = new Set(record?.batches.map(entryKey));
  const conflicts = record !== undefined && entries.some((e) => !known.has(entryKey(e)) && record!.batches.some((b) => b[0] < e[0] + e[1] && e[0] < b[0] + b[1]));
  if (record === undefined || conflicts) {
    if (record) discardStaging(lakeRoot, schema.name, sourceId);
    record = { format: 1, table: schema.name, source_id: sourceId, batches: [], partitions: {} };
    known.clear();
  }
  const batches = [...record.batches];
  const partitions: Record<string, StagedPartition> = { ...record.partitions };
  let changed = false;
  for (const [partition, pbs] of byPartition) {
    const fresh = pbs.filter((b) => !known.has(entryKey([b.rowOffset, b.batchRows, b.hash])));
    if (fresh.length === 0) continue;
    const live = new Set<string>();
    for (const f of readManifest(partitionLayout(lakeRoot, schema.name, partition), schema.name, partition).files) for (const e of f.sources[sourceId] ?? []) live.add(entryKey(e));
    const kept = fresh.filter((b) => live.has(entryKey([b.rowOffset, b.batchRows, b.hash])));
    const write = fresh.filter((b) => !live.has(entryKey([b.rowOffset, b.batchRows, b.hash])));
    const part = partitions[partition] ?? { files: [], kept: [] };
    const files = [...part.files];
    if (write.length > 0) {
      const keys = write.map((b) => entryKey([b.rowOffset, b.batchRows, b.hash]));
      const name = `${recordId(sourceId)}-${createHash('sha1').update(`${partition}|${keys.join('|')}`).digest('hex').slice(0, 16)}.staged`;
      const out = await writeParquet(conn, schema, { segments: write }, join(stagingDir(lakeRoot, schema.name), name), writeOptions);
      files.push({ name, rows: out.rows, bytes: out.bytes, batches: write.map((b) => [b.rowOffset, b.batchRows, b.hash]) });
    }
    partitions[partition] = { files, kept: [...part.kept, ...kept.map((b): BatchEntry => [b.rowOffset, b.batchRows, b.hash])] };
    changed = true;
  }
  for (const e of entries) {
    if (known.has(entryKey(e))) continue;
    known.add(entryKey(e));
    batches.push(e);
    changed = true;
  }
  const next: StagingRecord = { ...record, batches, partitions };
  if (changed) await writeStaging(lakeRoot, next);
  crashPoint('sink.stage');
  return next;
}

/** Row offset of the first row the batches do not cover, or -1 when they tile rows 0..end. */
export function firstGap(batches: readonly BatchEntry[]): number {
  const sorted = [...batches].sort((a, b) => a[0] - b[0]);
  let end = 0;
  for (const [offset, count] of sorted) {
    if (offset > end) return end;
    end = Math.max(end, offset + count);
  }
  return -1;
}

/** `source_row` ranges [from, to) covered by batches, merged. */
function ranges(batches: readonly BatchEntry[]): [number, number][] {
  const out: [number, number][] = [];
  for (const [o, n] of [...batches].sort((a, b) => a[0] - b[0])) {
    const lastRange = out[out.length - 1];
    if (lastRange && o <= lastRange[1]) lastRange[1] = Math.max(lastRange[1], o + n);
    else out.push([o, o + n]);
  }
  return out;
}

/**
 * Makes a complete staged source visible: per partition (in name order) one manifest commit
 * that lists its staged files and drops rows of an older version of the source. Idempotent:
 * a retry after a crash skips what is already committed. Then the staging record goes.
 */
export async function promoteSource(conn: DuckDBConnection, lakeRoot: string, schema: TableSchema, record: StagingRecord, writeOptions: ParquetWriteOptions): Promise<number> {
  const gap = firstGap(record.batches);
  if (gap >= 0) throw new SinkSourceIncompleteError(schema.name, record.source_id, gap);
  const source = record.source_id;
  const current = new Set(record.batches.map(entryKey));
  let promotedRows = 0;
  for (const partition of Object.keys(record.partitions).sort()) {
    const staged = record.partitions[partition] as StagedPartition;
    const layout = partitionLayout(lakeRoot, schema.name, partition);
    const dir = layout.data;
    promotedRows += await withPartitionLock(layout.lock, async (lock) => {
      const manifest = readManifest(layout, schema.name, partition);
      const liveNames = new Set(manifest.files.map((f) => f.name));
      removeOrphans(layout, liveNames);
      const adds = staged.files.map((f) => ({ f, name: `${STAGED_PREFIX}${f.name.replace(/\.staged$/, '.parquet')}` })).filter((a) => !liveNames.has(a.name));
      const files: ManifestFile[] = [];
      const replaced: string[] = [];
      for (const f of manifest.files) {
        const stale = (f.sources[source] ?? []).filter((e) => !current.has(entryKey(e)));
        if (stale.length === 0) {
          files.push(f);
          continue;
        }
        replaced.push(f.name);
        const sources: Record<string, BatchEntry[]> = { ...f.sources };
        const keep = (f.sources[source] ?? []).filter((e) => current.has(entryKey(e)));
        if (keep.length > 0) sources[source] = keep;
        else delete sources[source];
        const drop = ranges(stale)
          .map(([from, to]) => `("source_row" >= ${from} AND "source_row" < ${to})`)
          .join(' OR ');
        const rewritten = await rewriteFile(conn, layout, schema, f, `NOT ("source_id" = ${quoteLiteral(source)} AND (${drop}))`, sources, writeOptions);
        if (rewritten) files.push(rewritten);
      }
      if (adds.length === 0 && replaced.length === 0) return 0;
      const inPartition = { error: (cause: unknown, path: string) => lakeWriteError(`in partition ${dir}`, path, cause) };
      let rows = 0;
      mkdirSync(dir, { recursive: true });
      for (const { f, name } of adds) {
        const from = join(stagingDir(lakeRoot, schema.name), f.name);
        const to = join(dir, name);
        // Renamed by an attempt that crashed before its commit: already in place.
        if (!existsSync(to)) {
          if (!existsSync(from)) throw new SinkSourceIncompleteError(schema.name, source, f.batches[0]?.[0] ?? 0);
          await moveIntoPartition(layout, from, to);
        }
        files.push({ name, rows: f.rows, bytes: f.bytes, schema_version: schema.version, sources: { [source]: f.batches } });
        rows += f.rows;
      }
      // Names an attempt that crashed renamed (before syncing) must be durable before the commit lists them.
      await syncFolder(dir, inPartition);
      await syncFolder(stagingDir(lakeRoot, schema.name), inPartition);
      crashPoint('sink.promote');
      await writeManifest(layout, { ...manifest, generation: manifest.generation + 1, files }, lock);
      for (const name of replaced) unlinkSync(join(dir, name));
      return rows;
    });
  }
  discardStaging(lakeRoot, schema.name, source);
  return promotedRows;
}

/**
 * Where everything of a lake lives, in one place.
 *
 * A table folder (`<lake>/<table>/year=…/month=…/`) holds Parquet files only, so any folder
 * reader (polars `scan_parquet(folder)`, `pyarrow.dataset`, DuckDB `read_parquet('…/**')`)
 * reads it as is. Everything else sits in one metadata area, `<lake>/_polar_lake/`:
 *
 *   manifests/<table>/<partition>/manifest.json   the commit point of a partition
 *   locks/<table>/<partition>/_lock               the partition lock (src/lake/lock.ts)
 *   tmp/<table>/<partition>/                      files being written, renamed into the partition
 *   staging/<table>/                              staged sources (src/lake/staging.ts)
 *
 * Lakes written before this layout kept `_manifest.json`, `_lock` and temporaries in the
 * partition folder and `_staging/` in the table folder: readers look there too (the new
 * place wins), and writers move them here (docs/lake.md, "Layout").
 */
import { join } from 'node:path';

/** The metadata area under the lake root. */
export const META_DIR = '_polar_lake';
export const MANIFEST_FILE = 'manifest.json';
/** Manifest file name in a partition folder of an old-layout lake. */
export const LEGACY_MANIFEST_NAME = '_manifest.json';
/** Lock file name (in the lock folder; in the partition folder of an old-layout lake). */
export const LOCK_FILE = '_lock';

export interface PartitionLayout {
  /** The partition folder: Parquet files only. */
  readonly data: string;
  /** Folder of the manifest (`manifest.json`). */
  readonly manifestDir: string;
  readonly manifest: string;
  /** Where an old-layout lake kept the manifest. */
  readonly legacyManifest: string;
  /** Folder passed to withPartitionLock. */
  readonly lock: string;
  /** Folder for files being written before their rename into `data`. */
  readonly tmp: string;
}

function partitionSegments(partition: string): string[] {
  return partition === '' ? [] : partition.split('/');
}

export function partitionDir(lakeRoot: string, table: string, partition: string): string {
  return join(lakeRoot, table, ...partitionSegments(partition));
}

export function partitionLayout(lakeRoot: string, table: string, partition: string): PartitionLayout {
  const data = partitionDir(lakeRoot, table, partition);
  const manifestDir = join(manifestsRoot(lakeRoot, table), ...partitionSegments(partition));
  return {
    data,
    manifestDir,
    manifest: join(manifestDir, MANIFEST_FILE),
    legacyManifest: join(data, LEGACY_MANIFEST_NAME),
    lock: join(lakeRoot, META_DIR, 'locks', table, ...partitionSegments(partition)),
    tmp: join(lakeRoot, META_DIR, 'tmp', table, ...partitionSegments(partition)),
  };
}

/** Folder under which a table's manifests sit, one sub-folder per partition. */
export function manifestsRoot(lakeRoot: string, table: string): string {
  return join(lakeRoot, META_DIR, 'manifests', table);
}

/** A temporary path for `name` being written into the partition (renamed there when complete). */
export function tmpPathFor(layout: PartitionLayout, name: string): string {
  return join(layout.tmp, `${name}.tmp`);
}

export function stagingDir(lakeRoot: string, table: string): string {
  return join(lakeRoot, META_DIR, 'staging', table);
}

/** Where an old-layout lake kept a table's staging. */
export function legacyStagingDir(lakeRoot: string, table: string): string {
  return join(lakeRoot, table, '_staging');
}

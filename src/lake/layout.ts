/**
 * Where everything of a lake lives, in one place.
 *
 * A table folder (`<lake>/<table>/year=…/month=…/`) holds Parquet files only, so any folder
 * reader (polars `scan_parquet(folder)`, `pyarrow.dataset`, DuckDB `read_parquet('…/**')`)
 * reads it as is. Everything else sits in one metadata area, `<lake>/_polar_lake/`:
 *
 *   manifests/<table>/<partition>/manifest.json   the commit point of a partition
 *   locks/<table>/<partition>/lease.json          the partition lock's lease (src/lake/lock.ts)
 *   tmp/<table>/<partition>/                      files being written, renamed into the partition
 *   staging/<table>/                              staged sources (src/lake/staging.ts)
 *
 * A file is written as a temporary and renamed into its partition, and a rename cannot cross
 * file systems (EXDEV). When a table folder (or a partition folder) is a mount of its own, its
 * temporaries go to `_polar_lake_tmp/` at the root of that mount instead (see writeTmpDir):
 * pyarrow.dataset and DuckDB globs skip it; polars `scan_parquet(folder)` sees a temporary
 * there while a write is in flight (docs/lake.md, "Layout").
 *
 * Lakes written before this layout kept `_manifest.json`, `_lock` and temporaries in the
 * partition folder and `_staging/` in the table folder: readers look there too (the new
 * place wins), and writers move them here (docs/lake.md, "Layout").
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** The metadata area under the lake root. */
export const META_DIR = '_polar_lake';
export const MANIFEST_FILE = 'manifest.json';
/** Manifest file name in a partition folder of an old-layout lake. */
export const LEGACY_MANIFEST_NAME = '_manifest.json';
/** The partition lock's lease file, in the partition's lock folder. */
export const LEASE_FILE = 'lease.json';
/** The PID lock file an old-layout lake kept in the partition folder. */
export const LEGACY_LOCK_FILE = '_lock';
/** Temporaries' folder at the root of a file system mounted inside the lake (writeTmpDir). */
export const MOUNT_TMP_DIR = '_polar_lake_tmp';

export interface PartitionLayout {
  readonly lakeRoot: string;
  /** The partition folder: Parquet files only. */
  readonly data: string;
  /** Folder of the manifest (`manifest.json`). */
  readonly manifestDir: string;
  readonly manifest: string;
  /** Where an old-layout lake kept the manifest. */
  readonly legacyManifest: string;
  /** Folder passed to withPartitionLock. */
  readonly lock: string;
  /** Folder in the metadata area for files being written before their rename into `data` (writeTmpDir picks the one to use). */
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
    lakeRoot,
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

/**
 * A temporary path for `name` being written into the partition (renamed there when complete),
 * its folder created: on the partition folder's file system (writeTmpDir).
 */
export function tmpPathFor(layout: PartitionLayout, name: string): string {
  const dir = writeTmpDir(layout);
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.tmp`);
}

/**
 * The folder a file for the partition is written in before its rename into it. The rename
 * must stay on one file system, so: the metadata area's tmp folder when it is on the same
 * file system as the partition folder (same st_dev), which is the usual case; otherwise the
 * partition folder sits on a mount of its own inside the lake, and the temporaries go to
 * `_polar_lake_tmp/` at the root of that mount (mirroring the partition path below it).
 */
export function writeTmpDir(layout: PartitionLayout): string {
  const dev = deviceOf(layout.data);
  if (dev === deviceOf(join(layout.lakeRoot, META_DIR))) return layout.tmp;
  const root = mountRoot(layout.data, layout.lakeRoot);
  return join(root, MOUNT_TMP_DIR, relative(root, layout.data));
}

/** Every folder where a crash may have left temporaries of the partition (the metadata area's and a mount's). */
export function tmpDirs(layout: PartitionLayout): string[] {
  return [...new Set([layout.tmp, writeTmpDir(layout)])];
}

/** The path itself or, for a folder not created yet, its nearest existing ancestor (where it will be created). */
function existingAncestor(path: string): string {
  let p = resolve(path);
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

function deviceOf(path: string): number {
  return statSync(existingAncestor(path)).dev;
}

/** The highest folder from `path` up to `lakeRoot` on the same file system as `path`: the root of its mount. */
function mountRoot(path: string, lakeRoot: string): string {
  let p = existingAncestor(path);
  const dev = statSync(p).dev;
  const stop = resolve(lakeRoot);
  while (p !== stop && dirname(p) !== p && statSync(dirname(p)).dev === dev) p = dirname(p);
  return p;
}

export function stagingDir(lakeRoot: string, table: string): string {
  return join(lakeRoot, META_DIR, 'staging', table);
}

/** Where an old-layout lake kept a table's staging. */
export function legacyStagingDir(lakeRoot: string, table: string): string {
  return join(lakeRoot, table, '_staging');
}

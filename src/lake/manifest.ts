/**
 * The partition manifest (`<lake>/_polar_lake/manifests/<table>/<partition>/manifest.json`,
 * see src/lake/layout.ts): the list of live
 * Parquet files and, per file, which source batches it holds. Replacing it (tmp + fsync +
 * rename) is the one atomic commit point of every change to a partition, so readers that
 * go through it (src/lake/views.ts) never see a row twice or missing, even while the sink
 * or compaction replaces files. See docs/lake.md.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { PolarLakeError } from '../errors.ts';
import { syncFolder, writeFileDurable } from '../fs/durable.ts';
import { lakeWriteError } from './parquet-writer.ts';
import type { PartitionLayout } from './layout.ts';
import type { HeldPartitionLock } from './lock.ts';

/** One source batch held by a file: [row_offset, row_count, content hash]. */
export type BatchEntry = [number, number, string];

export interface ManifestFile {
  readonly name: string;
  readonly rows: number;
  readonly bytes: number;
  readonly schema_version: number;
  /** source_id → batches of that source whose rows (those in this partition) are in the file. */
  readonly sources: Record<string, BatchEntry[]>;
}

export interface Manifest {
  readonly format: 1;
  readonly table: string;
  readonly partition: string;
  readonly generation: number;
  readonly files: ManifestFile[];
}

export class ManifestCorruptError extends PolarLakeError {
  readonly code = 'PL_LAKE_MANIFEST_CORRUPT';
  readonly kind = 'terminal';
  constructor(readonly file: string, options?: { cause?: unknown }) {
    super(`${file}: manifest is not valid JSON`, options);
  }
}

/** The partition's manifest; an old-layout lake's (in the partition folder) when there is no new one. */
export function readManifest(layout: PartitionLayout, table: string, partition: string): Manifest {
  const file = existsSync(layout.manifest) ? layout.manifest : layout.legacyManifest;
  if (!existsSync(file)) return { format: 1, table, partition, generation: 0, files: [] };
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch (cause) {
    throw new ManifestCorruptError(file, { cause });
  }
}

/**
 * The commit: after this returns, the new file list is what every reader gets. Only a holder
 * of the partition lock commits, and it proves it still holds it just before the rename
 * (PL_LAKE_LOCK_LOST otherwise: nothing committed). An old-layout manifest of the partition
 * is removed after it (the new one already wins over it): from then on the partition folder
 * holds only Parquet files.
 */
export async function writeManifest(layout: PartitionLayout, manifest: Manifest, lock: HeldPartitionLock): Promise<void> {
  const error = (cause: unknown) => lakeWriteError(`in partition ${layout.data}`, layout.manifest, cause);
  mkdirSync(layout.manifestDir, { recursive: true });
  await writeFileDurable(layout.manifest, JSON.stringify(manifest), {
    mode: 0o666,
    tempPath: `${layout.manifest}.tmp`,
    beforeRename: () => lock.assertHeld(),
    error,
  });
  if (existsSync(layout.legacyManifest)) {
    unlinkSync(layout.legacyManifest);
    await syncFolder(layout.data, { error });
  }
}

/**
 * The partition manifest (`_manifest.json` in each partition folder): the list of live
 * Parquet files and, per file, which source batches it holds. Replacing it (tmp + fsync +
 * rename) is the one atomic commit point of every change to a partition, so readers that
 * go through it (src/lake/views.ts) never see a row twice or missing, even while the sink
 * or compaction replaces files. See docs/lake.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolarLakeError } from '../errors.ts';
import { writeFileDurable } from '../fs/durable.ts';
import { lakeWriteError } from './parquet-writer.ts';

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

export const MANIFEST_NAME = '_manifest.json';

export class ManifestCorruptError extends PolarLakeError {
  readonly code = 'PL_LAKE_MANIFEST_CORRUPT';
  readonly kind = 'terminal';
  constructor(readonly file: string, options?: { cause?: unknown }) {
    super(`${file}: manifest is not valid JSON`, options);
  }
}

export function readManifest(dir: string, table: string, partition: string): Manifest {
  const file = join(dir, MANIFEST_NAME);
  if (!existsSync(file)) return { format: 1, table, partition, generation: 0, files: [] };
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch (cause) {
    throw new ManifestCorruptError(file, { cause });
  }
}

/** The commit: once this resolves, the new file list is what every reader gets. */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const file = join(dir, MANIFEST_NAME);
  await writeFileDurable(file, JSON.stringify(manifest), { mode: 0o666, tempPath: `${file}.tmp`, error: (cause) => lakeWriteError(`in partition ${dir}`, file, cause) });
}

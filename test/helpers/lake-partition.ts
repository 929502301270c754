/** Partition batches of generated samples and a file listing, for the lake layout tests. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { rowsToColumns } from '../../src/lake/parquet-writer.ts';
import type { PartitionBatch } from '../../src/lake/partition-writer.ts';
import { fieldColumns, loadTableSchema } from '../../src/lake/schema.ts';
import { sampleRows } from './lake-rows.ts';

/** One complete source of `samples` rows in 2026-`month` (its only, last batch). */
export function samplesBatch(sourceId: string, month: number, samples: number): PartitionBatch {
  const rows = sampleRows({ user_id: `u-${sourceId}`, exercise_id: `e-${sourceId}`, start_ms: Date.UTC(2026, month - 1, 3, 9), utc_offset_min: 60, samples });
  return {
    sourceId, rowOffset: 0, batchRows: samples, last: true, hash: `h-${sourceId}`, count: samples,
    columns: rowsToColumns(rows, fieldColumns(loadTableSchema('samples')).map((c) => c.field as string)), sourceRows: null,
  };
}

/** Every file under `dir`, relative to it, sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLakeDuckDB, type LakeDuckDB } from '../../src/lake/duckdb.ts';
import { commitPartition } from '../../src/lake/partition-writer.ts';
import { rowsToColumns } from '../../src/lake/parquet-writer.ts';
import { writeManifest, readManifest } from '../../src/lake/manifest.ts';
import { partitionLayout } from '../../src/lake/layout.ts';
import { withPartitionLock } from '../../src/lake/lock.ts';
import { compactLake } from '../../src/lake/compact.ts';
import { fieldColumns, loadTableSchema } from '../../src/lake/schema.ts';
import { openLakeViews, liveFiles } from '../../src/lake/views.ts';
import { sampleRows } from '../helpers/lake-rows.ts';

describe('lake > schema evolution', () => {
  let dir: string;
  let db: LakeDuckDB;
  const partition = 'year=2026/month=02';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-evolution-'));
    db = await openLakeDuckDB();
    const schema = loadTableSchema('samples');
    const rows = sampleRows({ user_id: 'u-new', exercise_id: 'e-new', start_ms: Date.UTC(2026, 1, 3, 9), utc_offset_min: 60, samples: 100 });
    rows.forEach((r) => (r.left_right_balance_pct = 49.5));
    await commitPartition(db.conn, dir, schema, partition, [
      { sourceId: 'new', rowOffset: 0, batchRows: 100, last: true, hash: 'n', count: 100, columns: rowsToColumns(rows, fieldColumns(schema).map((c) => c.field as string)), sourceRows: null },
    ]);
    // A file as an older schema version wrote it: no left_right_balance_pct, no step_length_mm,
    // no quality_flags (samples v1, before flawed points were kept and flagged).
    const pdir = join(dir, 'samples', 'year=2026', 'month=02');
    mkdirSync(pdir, { recursive: true });
    await db.conn.run(
      `COPY (SELECT * EXCLUDE (left_right_balance_pct, step_length_mm, quality_flags) REPLACE ('u-old' AS user_id, 'old' AS source_id) FROM read_parquet('${liveFiles(dir, 'samples')[0]}'))
       TO '${join(pdir, 'part-old.parquet')}' (FORMAT parquet)`,
    );
    const layout = partitionLayout(dir, 'samples', partition);
    const manifest = readManifest(layout, 'samples', partition);
    await withPartitionLock(layout.lock, async (lock) =>
      writeManifest(layout, { ...manifest, files: [...manifest.files, { name: 'part-old.parquet', rows: 100, bytes: 1, schema_version: 0, sources: { old: [[0, 100, 'o']] } }] }, lock),
    );
  });
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lake > schema evolution > files of an older version read through the views, missing columns as NULL', async () => {
    const v = await openLakeViews(dir);
    try {
      const r = await v.conn.runAndReadAll(
        `SELECT user_id, count(*), count(left_right_balance_pct), typeof(any_value(step_length_mm)), count(quality_flags), typeof(any_value(quality_flags)) FROM samples GROUP BY user_id ORDER BY user_id`,
      );
      expect(r.getRows()).toEqual([['u-new', 100n, 100n, 'DOUBLE', 100n, 'SMALLINT'], ['u-old', 100n, 0n, 'DOUBLE', 0n, 'SMALLINT']]);
    } finally {
      v.close();
    }
  });

  it('lake > schema evolution > compaction rewrites older files to the current version', async () => {
    await compactLake(db.conn, dir);
    const m = readManifest(partitionLayout(dir, 'samples', partition), 'samples', partition);
    expect(m.files.map((f) => f.schema_version)).toEqual([loadTableSchema('samples').version]);
    const r = await db.conn.runAndReadAll(`SELECT count(*), count(DISTINCT user_id), count(left_right_balance_pct) FROM read_parquet('${liveFiles(dir, 'samples')[0]}')`);
    expect(r.getRows()).toEqual([[200n, 2n, 100n]]);
  });
});

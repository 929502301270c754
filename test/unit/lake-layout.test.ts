import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLakeDuckDB, type LakeDuckDB } from '../../src/lake/duckdb.ts';
import { compactLake } from '../../src/lake/compact.ts';
import { lakeDoctor } from '../../src/lake/doctor.ts';
import { LEGACY_LOCK_FILE, legacyStagingDir, partitionLayout, stagingDir } from '../../src/lake/layout.ts';
import { commitPartition, sweepPartitions, type PartitionBatch } from '../../src/lake/partition-writer.ts';
import { loadTableSchema } from '../../src/lake/schema.ts';
import { migrateLegacyStaging, promoteSource, readStaging, stagedSources, stageSource } from '../../src/lake/staging.ts';
import { listPartitions, openLakeViews } from '../../src/lake/views.ts';
import { filesUnder, samplesBatch } from '../helpers/lake-partition.ts';

const schema = loadTableSchema('samples');
const FEB = 'year=2026/month=02';
const MAR = 'year=2026/month=03';

async function viewCount(lake: string): Promise<bigint> {
  const v = await openLakeViews(lake);
  try {
    return (await v.conn.runAndReadAll('SELECT count(*) FROM samples')).getRows()[0]?.[0] as bigint;
  } finally {
    v.close();
  }
}

/** What a lake written before the metadata area looks like: manifests and a crashed writer's lock in the partition folders. */
function toOldLayout(lake: string): void {
  for (const p of listPartitions(lake, 'samples')) {
    renameSync(p.layout.manifest, p.layout.legacyManifest);
    writeFileSync(join(p.dir, LEGACY_LOCK_FILE), '999999999'); // its owner is long dead
  }
  rmSync(join(lake, '_polar_lake'), { recursive: true, force: true });
}

describe('lake > layout', () => {
  let lake: string;
  let db: LakeDuckDB;

  beforeEach(async () => {
    lake = mkdtempSync(join(tmpdir(), 'polar-lake-layout-'));
    db = await openLakeDuckDB();
    for (const s of ['a', 'b', 'c']) await commitPartition(db.conn, lake, schema, FEB, [samplesBatch(s, 2, 100)]);
    await commitPartition(db.conn, lake, schema, MAR, [samplesBatch('d', 3, 50)]);
  });
  afterEach(() => {
    db.close();
    rmSync(lake, { recursive: true, force: true });
  });

  it('lake > layout > a table folder holds only Parquet files; manifests and locks live under _polar_lake/', async () => {
    const files = filesUnder(join(lake, 'samples'));
    expect(files.length).toBe(4);
    for (const f of files) expect(f).toMatch(/^year=2026\/month=0[23]\/part-[0-9a-f]{24}\.parquet$/);
    expect(existsSync(join(lake, '_polar_lake', 'manifests', 'samples', 'year=2026', 'month=02', 'manifest.json'))).toBe(true);
    expect(filesUnder(join(lake, '_polar_lake', 'locks'))).toEqual([]);
    expect(await viewCount(lake)).toBe(350n);
  });

  it('lake > layout > an old-layout lake is read by views, doctor and compact, and moved by the sink sweep', async () => {
    toOldLayout(lake);
    expect(filesUnder(join(lake, 'samples')).filter((f) => f.endsWith('_manifest.json'))).toHaveLength(2);
    expect(await viewCount(lake)).toBe(350n);
    const report = await lakeDoctor(db.conn, lake);
    expect(report.tables.find((t) => t.table === 'samples')).toMatchObject({ partitions: 2, files: 4, rows: 350 });

    // Compaction commits February in the new place; the old manifest goes.
    const compacted = await compactLake(db.conn, lake, { tables: ['samples'] });
    expect(compacted).toEqual([expect.objectContaining({ partition: FEB, inputFiles: 3, outputFiles: 1, rows: 300 })]);
    expect(existsSync(partitionLayout(lake, 'samples', FEB).legacyManifest)).toBe(false);
    expect(await viewCount(lake)).toBe(350n);

    // The sink's start-up sweep moves March's manifest and removes the dead writer's locks.
    await sweepPartitions(lake, ['samples']);
    for (const f of filesUnder(join(lake, 'samples'))) expect(f).toMatch(/\.parquet$/);
    expect(filesUnder(join(lake, 'samples'))).toHaveLength(2);
    expect(listPartitions(lake, 'samples').map((p) => [p.partition, p.manifest.files.length])).toEqual([[FEB, 1], [MAR, 1]]);
    expect(await viewCount(lake)).toBe(350n);
  });

  it('lake > layout > a source staged by an old-layout lake is moved at sink start and promoted once', async () => {
    const b = samplesBatch('staged', 2, 80);
    const first: PartitionBatch = { ...b, last: false, batchRows: 80 };
    const record = await stageSource(db.conn, lake, schema, 'staged', [[0, 80, b.hash]], new Map([[FEB, [first]]]), {});
    // As the old layout kept it: `<lake>/samples/_staging/`.
    mkdirSync(join(lake, 'samples'), { recursive: true });
    renameSync(stagingDir(lake, 'samples'), legacyStagingDir(lake, 'samples'));
    expect(readStaging(lake, 'samples', 'staged')).toBeUndefined();

    expect(await migrateLegacyStaging(lake, 'samples')).toBe(2); // the record and its staged file
    expect(existsSync(legacyStagingDir(lake, 'samples'))).toBe(false);
    expect(readStaging(lake, 'samples', 'staged')).toEqual(record);
    expect(await promoteSource(db.conn, lake, schema, record, {})).toBe(80);
    expect(stagedSources(lake, 'samples')).toBe(0);
    expect(await viewCount(lake)).toBe(430n);
    for (const f of filesUnder(join(lake, 'samples'))) expect(f).toMatch(/^year=2026\/month=0[23]\/(part|stage)-[^/]+\.parquet$/);
  });
});

import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLakeDuckDB, type LakeDuckDB } from '../../src/lake/duckdb.ts';
import { withLakeSnapshot } from '../../src/lake/views.ts';
import { commitPartition } from '../../src/lake/partition-writer.ts';
import { rowsToColumns } from '../../src/lake/parquet-writer.ts';
import { loadTableSchema } from '../../src/lake/schema.ts';
import { lakeDoctor } from '../../src/lake/doctor.ts';
import { compactLake } from '../../src/lake/compact.ts';
import { runLakeQuery } from '../../src/lake/query.ts';
import { ensureLake } from '../../src/lake/lake-root.ts';
import { register as registerQuery } from '../../src/cli/commands/query.ts';
import { envelopesFor } from '../helpers/lake-rows.ts';
import type { RecordBatchEnvelope } from '../../src/records/envelope.ts';

describe('lake > query and doctor', () => {
  let dir: string;
  let lake: string;
  let db: LakeDuckDB;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-query-'));
    lake = join(dir, 'lake');
    db = await openLakeDuckDB();
    const schema = loadTableSchema('samples');
    // Twelve workouts committed one by one: twelve small files in one partition.
    for (let u = 0; u < 12; u++) {
      const envs = envelopesFor({ user_id: `u${u}`, exercise_id: `e${u}`, start_ms: Date.UTC(2026, 5, 1 + u, 7), utc_offset_min: 120, samples: 900 }, 900);
      const s = envs.find((e) => e.table === 'samples') as RecordBatchEnvelope<'samples'>;
      await commitPartition(db.conn, lake, schema, 'year=2026/month=06', [
        { sourceId: s.source_id, rowOffset: 0, batchRows: s.rows.length, last: true, hash: `h${u}`, count: s.rows.length, columns: rowsToColumns(s.rows, Object.keys(s.rows[0] as object)), sourceRows: null },
      ], { rowGroupRows: 1024 });
    }
  });
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lake > doctor > flags a partition of many small files and small row groups, healthy after compact', async () => {
    const opts = { maxSmallFiles: 4, minRowGroupRows: 5000 };
    const sick = await lakeDoctor(db.conn, lake, opts);
    expect(sick.healthy).toBe(false);
    const p = sick.partitions.find((x) => x.table === 'samples');
    expect(p).toMatchObject({ partition: 'year=2026/month=06', files: 12, small_files: 12, rows: 10800 });
    expect(p?.problems.join('\n')).toMatch(/12 small files/);
    expect(p?.problems.join('\n')).toMatch(/row groups average 900 rows/);
    expect(sick.tables.find((t) => t.table === 'samples')).toMatchObject({ files: 12, rows: 10800, unhealthy_partitions: 1 });

    await compactLake(db.conn, lake, { rowGroupRows: 100_000 });
    const well = await lakeDoctor(db.conn, lake, opts);
    expect(well.healthy).toBe(true);
    expect(well.partitions[0]).toMatchObject({ files: 1, rows: 10800, row_groups: 1 });
  });

  it('lake > compact > queries running during compaction count the same rows', async () => {
    // A second partition of many small files, compacted while readers count in a loop.
    const schema = loadTableSchema('samples');
    for (let u = 0; u < 16; u++) {
      const envs = envelopesFor({ user_id: `c${u}`, exercise_id: `c${u}`, start_ms: Date.UTC(2026, 6, 1 + u, 7), utc_offset_min: 0, samples: 2000 }, 2000);
      const s = envs.find((e) => e.table === 'samples') as RecordBatchEnvelope<'samples'>;
      await commitPartition(db.conn, lake, schema, 'year=2026/month=07', [
        { sourceId: s.source_id, rowOffset: 0, batchRows: s.rows.length, last: true, hash: `c${u}`, count: s.rows.length, columns: rowsToColumns(s.rows, Object.keys(s.rows[0] as object)), sourceRows: null },
      ]);
    }
    const count = () => withLakeSnapshot(lake, async (conn) => Number((await conn.runAndReadAll('SELECT count(*) FROM samples')).getRows()[0]?.[0]));
    const expected = await count();
    expect(expected).toBe(10800 + 32000);
    let done = false;
    const seen: number[] = [];
    const readers = (async () => {
      while (!done) seen.push(await count());
    })();
    const compactor = await openLakeDuckDB();
    try {
      const result = await compactLake(compactor.conn, lake, { rowGroupRows: 100_000 });
      expect(result.map((r) => r.partition)).toContain('year=2026/month=07');
    } finally {
      done = true;
      await readers;
      compactor.close();
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([expected]));
    expect(await count()).toBe(expected);
  });

  it('lake > query > table, csv, json and parquet output', async () => {
    const sql = `SELECT user_id, count(*) AS n, min(local_date) AS d FROM samples WHERE user_id IN ('u1', 'u2') GROUP BY user_id ORDER BY user_id`;
    expect(await runLakeQuery({ lakeRoot: lake, sql, format: 'csv' })).toBe('user_id,n,d\nu1,900,2026-06-02\nu2,900,2026-06-03\n');
    expect(await runLakeQuery({ lakeRoot: lake, sql, format: 'json' })).toBe('{"user_id":"u1","n":"900","d":"2026-06-02"}\n{"user_id":"u2","n":"900","d":"2026-06-03"}\n');
    expect(await runLakeQuery({ lakeRoot: lake, sql })).toMatch(/^user_id \| n +\| d\n[-+]+\nu1 +\| 900 \| 2026-06-02\n.*\n\(2 rows\)\n$/s);
    const out = join(dir, 'out.parquet');
    await runLakeQuery({ lakeRoot: lake, sql: 'SELECT * FROM samples', format: 'parquet', output: out });
    const r = await db.conn.runAndReadAll(`SELECT count(*) FROM read_parquet('${out}')`);
    expect(r.getRows()).toEqual([[42800n]]);
    await expect(runLakeQuery({ lakeRoot: lake, sql: 'SELECT nope FROM samples', format: 'csv' })).rejects.toMatchObject({ code: 'PL_QUERY_FAILED' });
  });

  it('lake > query > the CLI command writes a CSV file', async () => {
    const program = new Command().exitOverride();
    registerQuery(program);
    const out = join(dir, 'q.csv');
    await program.parseAsync(['node', 'polar-lake', 'query', 'SELECT count(*) AS n FROM samples', '--format', 'csv', '--output', out, '--lake', lake]);
    expect(existsSync(out)).toBe(true);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(out, 'utf8')).toBe('n\n42800\n');
  });

  it('lake > views > an empty lake still has typed, empty views', async () => {
    await ensureLake(join(dir, 'empty'));
    expect(await runLakeQuery({ lakeRoot: join(dir, 'empty'), sql: 'SELECT count(*) AS n, typeof(min(time_utc)) AS t FROM samples', format: 'csv' })).toBe(
      'n,t\n0,TIMESTAMP WITH TIME ZONE\n',
    );
  });
});

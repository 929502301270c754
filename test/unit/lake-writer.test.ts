import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLakeDuckDB, type LakeDuckDB } from '../../src/lake/duckdb.ts';
import { rowsToColumns, writeParquet, type RowSegment } from '../../src/lake/parquet-writer.ts';
import { fieldColumns, loadTableSchema } from '../../src/lake/schema.ts';
import { decodeVectors, encodeRecordBatch, takeRows, type ColumnVector } from '../../src/records/arrow-codec.ts';
import { exerciseRow, sampleRows } from '../helpers/lake-rows.ts';

describe('lake > parquet writer', () => {
  let dir: string;
  let db: LakeDuckDB;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-writer-'));
    db = await openLakeDuckDB();
  });
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lake > parquet writer > segments across chunk boundaries round-trip value for value, nulls included', async () => {
    const schema = loadTableSchema('samples');
    const fields = fieldColumns(schema).map((c) => c.field as string);
    // Odd segment sizes so that 2048-row chunks start and end inside segments.
    const sizes = [1, 2047, 2050, 3, 4100];
    const segments: RowSegment[] = sizes.map((n, k) => {
      const rows = sampleRows({ user_id: `user'${k}`, exercise_id: `ex${k}`, start_ms: Date.UTC(2026, 0, 1) + k * 86_400_000, utc_offset_min: k % 2 ? -90 : null, samples: n });
      rows.forEach((r, i) => {
        if ((i + k) % 5 === 0) r.heart_rate_bpm = null;
        r.power_w = i % 3 === 0 ? 250.5 : null;
      });
      return { count: n, columns: rowsToColumns(rows, fields), sourceId: `src-${k}`, rowOffset: 10 * k, sourceRows: k === 4 ? rows.map((_, i) => 1000 + 2 * i) : null };
    });
    const path = join(dir, 'samples.parquet');
    const out = await writeParquet(db.conn, schema, { segments }, path, { rowGroupRows: 4096 });
    expect(out.rows).toBe(sizes.reduce((a, b) => a + b, 0));
    const r = await db.conn.runAndReadAll(
      `SELECT source_id, source_row, user_id, epoch_us(time_utc)::DOUBLE, utc_offset_min, heart_rate_bpm, power_w, altitude_m, sensor_state FROM read_parquet('${path}')`,
    );
    const got = new Map(r.getRows().map((row) => [`${row[0]}#${row[1]}`, row.slice(2)]));
    expect(got.size).toBe(out.rows);
    segments.forEach((g) => {
      for (let i = 0; i < g.count; i++) {
        const sr = g.sourceRows ? (g.sourceRows[i] as number) : g.rowOffset + i;
        const c = (f: string) => (g.columns[f] as unknown[])[i];
        expect(got.get(`${g.sourceId}#${sr}`)).toEqual([c('user_id'), c('time_utc_us'), c('utc_offset_min'), c('heart_rate_bpm'), c('power_w'), c('altitude_m'), c('sensor_state')]);
      }
    });
    const rg = await db.conn.runAndReadAll(`SELECT max(row_group_num_rows) FROM parquet_metadata('${path}')`);
    expect(Number(rg.getRows()[0]?.[0])).toBeLessThanOrEqual(4096);
  });

  it('lake > parquet writer > typed vectors from Arrow IPC write what JS values write; local_date from negative instants and offsets', async () => {
    const schema = loadTableSchema('samples');
    const fields = fieldColumns(schema).map((c) => c.field as string);
    // Instants before 1970 and across local midnight, offsets east, west and unknown.
    // Each workout starts at 23:55 local time, so its rows span two local dates.
    const starts: [number, number | null][] = [[Date.UTC(1969, 11, 31, 22, 55), 60], [Date.UTC(2026, 2, 31, 9, 55), 840], [Date.UTC(2026, 3, 1, 9, 55), -600], [Date.UTC(2026, 0, 1, 23, 55), null]];
    const rows = starts.flatMap(([ms, off], k) => sampleRows({ user_id: `u${k}`, exercise_id: `e${k}`, start_ms: ms, utc_offset_min: off, samples: 700 + k * 300 }));
    rows.forEach((r, i) => {
      if (i % 3 === 0) r.heart_rate_bpm = null;
    });
    const { count, columns } = decodeVectors(encodeRecordBatch({ type: 'records' }, rows));
    // Two segments gathered out of one batch (as the sink splits a batch across partitions), one as JS values.
    const even = Int32Array.from({ length: Math.ceil(count / 2) }, (_, i) => 2 * i);
    const odd = Int32Array.from({ length: Math.floor(count / 2) }, (_, i) => 2 * i + 1);
    const take = (idx: Int32Array): Record<string, ColumnVector> => Object.fromEntries(Object.entries(columns).map(([f, v]) => [f, takeRows(v, idx)]));
    const typed: RowSegment[] = [
      { count: even.length, columns: take(even), sourceId: 's', rowOffset: 0, sourceRows: even },
      { count: odd.length, columns: take(odd), sourceId: 's', rowOffset: 0, sourceRows: odd },
    ];
    const plain: RowSegment[] = [{ count, columns: rowsToColumns(rows, fields), sourceId: 's', rowOffset: 0, sourceRows: null }];
    const a = join(dir, 'typed.parquet');
    const b = join(dir, 'plain.parquet');
    await writeParquet(db.conn, schema, { segments: typed }, a, { sort: false });
    await writeParquet(db.conn, schema, { segments: plain }, b, { sort: false });
    const read = async (path: string) => (await db.conn.runAndReadAll(`SELECT * EXCLUDE (source_id) FROM read_parquet('${path}') ORDER BY source_row`)).getRows();
    const typedRows = await read(a);
    expect(typedRows.length).toBe(count);
    expect(typedRows).toEqual(await read(b));
    // local_date as DuckDB derives it from the stored instant and offset.
    const dates = await db.conn.runAndReadAll(
      `SELECT count(*), count(*) FILTER (WHERE local_date = CAST(CAST(time_utc AS TIMESTAMP) + to_minutes(coalesce(utc_offset_min, 0)) AS DATE)), count(DISTINCT local_date), min(time_utc) < TIMESTAMPTZ '1970-01-01 00:00:00+00' FROM read_parquet('${a}')`,
    );
    // 1969-12-31, 1970-01-01, 2026-03-31, 2026-04-01, 2026-01-01, 2026-01-02.
    expect(dates.getRows()).toEqual([[BigInt(count), BigInt(count), 6n, true]]);
  });

  it('lake > parquet writer > booleans, all-null columns and µs timestamps of exercises', async () => {
    const schema = loadTableSchema('exercises');
    const fields = fieldColumns(schema).map((c) => c.field as string);
    const rows = [
      exerciseRow({ user_id: 'a', exercise_id: 'x', start_ms: Date.UTC(2026, 6, 1, 12), utc_offset_min: 180, samples: 60 }),
      { ...exerciseRow({ user_id: 'b', exercise_id: 'y', start_ms: Date.UTC(2026, 6, 2), utc_offset_min: null, samples: 60 }), has_route: false, start_time_utc_us: Date.UTC(2026, 6, 2) * 1000 + 123 },
    ];
    const path = join(dir, 'exercises.parquet');
    await writeParquet(db.conn, schema, { segments: [{ count: 2, columns: rowsToColumns(rows, fields), sourceId: 's', rowOffset: 0, sourceRows: null }] }, path);
    const r = await db.conn.runAndReadAll(`SELECT has_route, muscle_load, start_time_utc::VARCHAR, local_date::VARCHAR FROM read_parquet('${path}') ORDER BY user_id`);
    expect(r.getRows()).toEqual([
      [true, null, '2026-07-01 12:00:00+00', '2026-07-01'],
      [false, null, '2026-07-02 00:00:00.000123+00', '2026-07-02'],
    ]);
  });
  it('lake > parquet writer > strings with 8, 16 and 32-bit dictionaries round-trip in arrival order (sort: false)', async () => {
    const schema = loadTableSchema('samples');
    const fields = fieldColumns(schema).map((c) => c.field as string);
    // 70,000 distinct exercise ids (over 65,536: 32-bit codes), 300 users (16-bit), a
    // nullable state (8-bit); two segments.
    const n = 70_000;
    const rows = sampleRows({ user_id: 'u', exercise_id: 'e', start_ms: Date.UTC(2026, 2, 1), utc_offset_min: 60, samples: n });
    rows.forEach((r, i) => {
      r.user_id = `user-${i % 300}`;
      r.exercise_id = `ex-${i}`;
      r.sensor_state = i % 3 === 0 ? null : i % 3 === 1 ? 'Present' : 'Absent';
    });
    const columns = rowsToColumns(rows, fields);
    const half = 40_000;
    const slice = (from: number, to: number) => Object.fromEntries(Object.entries(columns).map(([f, v]) => [f, v.slice(from, to)]));
    const segments: RowSegment[] = [
      { count: half, columns: slice(0, half), sourceId: 'a', rowOffset: 0, sourceRows: null },
      { count: n - half, columns: slice(half, n), sourceId: 'b', rowOffset: half, sourceRows: null },
    ];
    const path = join(dir, 'strings.parquet');
    await writeParquet(db.conn, schema, { segments }, path, { sort: false, rowGroupRows: 16_384 });
    const r = await db.conn.runAndReadAll(`SELECT source_row, source_id, user_id, exercise_id, sensor_state, power_w FROM read_parquet('${path}')`);
    const got = r.getRows();
    expect(got.length).toBe(n);
    for (const [row, source, user, exercise, state, power] of got) {
      const i = Number(row);
      expect([source, user, exercise, state, power]).toEqual([i < half ? 'a' : 'b', `user-${i % 300}`, `ex-${i}`, rows[i]?.sensor_state ?? null, null]);
    }
    // Row-group statistics must not prune rows that are there.
    for (const user of ['user-0', 'user-299', 'user-150']) {
      const c = await db.conn.runAndReadAll(`SELECT count(*)::INTEGER FROM read_parquet('${path}') WHERE user_id = '${user}'`);
      expect(c.getRows()[0]?.[0]).toBe(rows.filter((x) => x.user_id === user).length);
    }
    const types = await db.conn.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${path}')) WHERE column_name IN ('user_id', 'exercise_id', 'sensor_state', 'source_id') ORDER BY 1`);
    expect(types.getRows().map((t) => t[1])).toEqual(['VARCHAR', 'VARCHAR', 'VARCHAR', 'VARCHAR']);
  });
});

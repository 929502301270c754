import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLakeDuckDB, type LakeDuckDB } from '../../src/lake/duckdb.ts';
import { rowsToColumns, writeParquet, type RowSegment } from '../../src/lake/parquet-writer.ts';
import { fieldColumns, loadTableSchema } from '../../src/lake/schema.ts';
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

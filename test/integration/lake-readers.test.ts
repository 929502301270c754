import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { TABLE_NAMES } from '../../src/lake/schema.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { pythonWith } from '../helpers/python.ts';
import { accessLinkSettings, enrolAll } from '../helpers/simulator-app.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

type Readers = Record<string, Record<string, { rows: number; types: Record<string, string> }>>;

describe('lake > notebooks', () => {
  let dir: string;
  let lake: string;
  let python: string;

  beforeAll(async () => {
    python = pythonWith(['pyarrow', 'polars', 'pandas', 'duckdb']);
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-readers-'));
    lake = join(dir, 'lake');
    // The real pipeline fills every table: exercises, samples, laps and the API's series,
    // RR intervals, zones and routes from the exercise listing (the channel with routes),
    // daily_activity and sleep from the date-based endpoints.
    const sim = await startSimulator({ seed: 4, users: 3, exercisesPerUser: 3, durationRangeS: [600, 1800] });
    const app = await createApp({
      lakeDir: lake, stateDir: join(dir, 'state'), pipeline: pipelineFromObject({ version: 1, name: 'readers', fetch: { exercise_channel: 'listing' } }, 'readers'), logger: silentLogger,
      accesslink: accessLinkSettings(sim),
    });
    try {
      await enrolAll(app, sim);
      await app.startConsumers();
      await app.runOnce();
    } finally {
      await app.close();
      await sim.close();
    }
  }, 900_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lake > notebooks > pyarrow, polars, pandas and duckdb read every table (from the manifests and from the bare table folder) with the right types and counts', async () => {
    const views = ['views.sql', 'views-daily.sql', 'views-exercise-detail.sql', 'views-files.sql'].map((f) => join(ROOT, 'schemas', f));
    const out = execFileSync(python, [join(ROOT, 'test/python/lake_read.py'), lake, ...views], { encoding: 'utf8' });
    const readers = JSON.parse(out) as Readers;
    const db = await openLakeViews(lake);
    try {
      for (const table of TABLE_NAMES) {
        const r = await db.conn.runAndReadAll(`SELECT count(*)::INTEGER FROM ${table}`);
        const expected = r.getRows()[0]?.[0];
        expect(expected).toBeGreaterThan(0);
        for (const reader of ['duckdb', 'pyarrow', 'polars', 'pandas', 'polars_folder', 'pyarrow_folder', 'duckdb_folder']) expect(readers[table]?.[reader]?.rows, `${table} via ${reader}`).toBe(expected);
      }
    } finally {
      db.close();
    }
    const samples = readers['samples'] as Readers[string];
    // Microsecond UTC instants everywhere (no nanosecond timestamps), local dates as dates.
    expect(samples['duckdb']?.types['time_utc']).toBe('TIMESTAMP WITH TIME ZONE');
    expect(samples['pyarrow']?.types['time_utc']).toBe('timestamp[us, tz=UTC]');
    expect(samples['polars']?.types['time_utc']).toBe("Datetime(time_unit='us', time_zone='UTC')");
    expect(samples['pandas']?.types['time_utc']).toBe('datetime64[us, UTC]');
    expect(samples['pyarrow']?.types['local_date']).toBe('date32[day]');
    expect(samples['polars']?.types['local_date']).toBe('Date');
    expect(samples['duckdb']?.types['heart_rate_bpm']).toBe('DOUBLE');
    expect(samples['duckdb']?.types['utc_offset_min']).toBe('SMALLINT');
    expect(samples['duckdb']?.types['quality_flags']).toBe('SMALLINT');
    expect(readers['source_files']?.['pyarrow']?.types['time_backwards_count']).toBe('int32');
    expect(readers['exercises']?.['pyarrow']?.types['has_route']).toBe('bool');
    expect(readers['daily_activity']?.['pyarrow']?.types['local_date']).toBe('date32[day]');
    expect(readers['sleep']?.['polars']?.types['sleep_start_utc']).toBe("Datetime(time_unit='us', time_zone='UTC')");
    expect(readers['exercise_series']?.['pyarrow']?.types['time_utc']).toBe('timestamp[us, tz=UTC]');
    expect(readers['rr_intervals']?.['pandas']?.types['is_gap']).toBe('bool');
    expect(readers['routes']?.['polars']?.types['latitude_deg']).toBe('Float64');
  });

  it('lake > notebooks > examples/weekly_training.py runs against the lake', async () => {
    const out = execFileSync(python, [join(ROOT, 'examples/weekly_training.py'), lake], { encoding: 'utf8' });
    expect(out).toMatch(/Training load per week/);
    expect(out).toMatch(/Heart-rate zones per sport/);
    const db = await openLakeViews(lake);
    const sports = (await db.conn.runAndReadAll('SELECT DISTINCT sport FROM exercises')).getRows().map((r) => String(r[0]));
    db.close();
    expect(sports.length).toBeGreaterThan(1);
    for (const sport of sports) expect(out).toContain(sport);
    expect(out).toMatch(/Z5/);
  });
});

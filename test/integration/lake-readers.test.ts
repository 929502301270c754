import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { TOPICS } from '../../src/bus/bus.ts';
import { encodeEnvelope } from '../../src/records/envelope.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { createSinkStage } from '../../src/stages/sink.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { envelopesFor } from '../helpers/lake-rows.ts';
import { pythonWith } from '../helpers/python.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// The tables this fixture feeds (the daily tables, fed from other payloads, are not in it).
const FED_TABLES = ['samples', 'laps', 'exercises'] as const;

type Readers = Record<string, Record<string, { rows: number; types: Record<string, string> }>>;

describe('lake > notebooks', () => {
  let dir: string;
  let lake: string;
  let python: string;

  beforeAll(async () => {
    python = pythonWith(['pyarrow', 'polars', 'pandas', 'duckdb']);
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-readers-'));
    lake = join(dir, 'lake');
    const bus = new EmbeddedBus();
    const sports = ['RUNNING', 'CYCLING', 'SWIMMING'];
    for (let u = 0; u < 6; u++) {
      const envs = envelopesFor({ user_id: `u${u % 3}`, exercise_id: `e${u}`, start_ms: Date.UTC(2026, 1, 20 + u * 3, 6), utc_offset_min: u % 2 ? -300 : 60, samples: 1500, sport: sports[u % 3] as string });
      for (const e of envs) await bus.publish(e.table === 'samples' ? TOPICS.samples : e.table === 'laps' ? TOPICS.laps : TOPICS.exercises, [{ key: e.user_id, value: encodeEnvelope(e) }]);
    }
    const sink = createSinkStage({ bus, lakeRoot: lake, logger: silentLogger, options: { flush_rows: 2000 } });
    await (await sink.start()).drained();
    await sink.close();
    await bus.close();
  }, 900_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lake > notebooks > pyarrow, polars, pandas and duckdb read every table with the right types and counts', async () => {
    const out = execFileSync(python, [join(ROOT, 'test/python/lake_read.py'), lake, join(ROOT, 'schemas/views.sql')], { encoding: 'utf8' });
    const readers = JSON.parse(out) as Readers;
    const db = await openLakeViews(lake);
    try {
      for (const table of FED_TABLES) {
        const r = await db.conn.runAndReadAll(`SELECT count(*)::INTEGER FROM ${table}`);
        const expected = r.getRows()[0]?.[0];
        expect(expected).toBeGreaterThan(0);
        for (const reader of ['duckdb', 'pyarrow', 'polars', 'pandas']) expect(readers[table]?.[reader]?.rows, `${table} via ${reader}`).toBe(expected);
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
    expect(readers['exercises']?.['pyarrow']?.types['has_route']).toBe('bool');
  });

  it('lake > notebooks > examples/weekly_training.py runs against the lake', () => {
    const out = execFileSync(python, [join(ROOT, 'examples/weekly_training.py'), lake], { encoding: 'utf8' });
    expect(out).toMatch(/Training load per week/);
    expect(out).toMatch(/Heart-rate zones per sport/);
    for (const sport of ['RUNNING', 'CYCLING', 'SWIMMING']) expect(out).toContain(sport);
    expect(out).toMatch(/Z5/);
  });
});

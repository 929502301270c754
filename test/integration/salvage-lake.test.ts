/**
 * Issue 7, "salvage, don't reject", end to end: raw object → parse stage → sink → views (real
 * DuckDB). Flawed values keep their rows with quality flags, every file gets its source_files
 * record, and course / route files land in routes instead of nowhere.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../src/bus/bus.ts';
import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { createRawZone, rawKeyFor } from '../../src/lake/raw-zone.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { QUALITY } from '../../src/parse/values.ts';
import { decodeEnvelope, encodeEnvelope, type FetchedEvent } from '../../src/records/envelope.ts';
import { createParseStage } from '../../src/stages/parse.ts';
import { createSinkStage } from '../../src/stages/sink.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { REPO_ROOT } from '../helpers/parse-corpus.ts';

const FIX = resolve(REPO_ROOT, 'test/fixtures');
const FILES: [exerciseId: string, fixture: string, payload: 'tcx' | 'gpx'][] = [
  ['comma', 'salvage/decimal-comma.tcx', 'tcx'],
  ['no', 'salvage/latitude-no.tcx', 'tcx'],
  ['route', 'salvage/route-no-times.gpx', 'gpx'],
  ['course', 'tcx/course.tcx', 'tcx'],
];

let dir: string;
let lake: string;
let deadLetters: unknown[];

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const db = await openLakeViews(lake);
  try {
    const rows = (await db.conn.runAndReadAll(sql)).getRowObjectsJS();
    return rows.map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'polar-lake-salvage-'));
  lake = join(dir, 'lake');
  const bus = new EmbeddedBus({ logger: silentLogger });
  try {
    const raw = createRawZone(join(dir, 'raw'));
    for (const [exerciseId, fixture, payload] of FILES) {
      const key = rawKeyFor('7', exerciseId, payload);
      await raw.put(key, readFileSync(resolve(FIX, fixture)));
      const event: FetchedEvent = {
        type: 'fetched', user_id: '7', exercise_id: exerciseId, payload, raw_key: key, bytes: 0, sha256: '',
        fetched_at_utc: '2026-01-01T00:00:00Z', utc_offset_min: null, feeds_samples: true,
      };
      await bus.publish(TOPICS.fetched, [{ key: '7', value: encodeEnvelope(event) }]);
    }
    const parse = createParseStage({ bus, rawZone: raw, logger: silentLogger });
    const parsed = await parse.start();
    await parsed.drained();
    await parsed.stop();
    const sink = createSinkStage({ bus, lakeRoot: lake, logger: silentLogger, options: { max_ack_delay_ms: 1 } });
    const sunk = await sink.start();
    await sunk.drained();
    await sink.close();
    deadLetters = [];
    const letters = await bus.consume({ topics: [TOPICS.deadletter], group: 'test-deadletters' }, async (b) => void deadLetters.push(...b.messages.map((m) => decodeEnvelope(m.value))));
    await letters.drained();
    await letters.stop();
  } finally {
    await bus.close();
  }
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('salvage > lake', () => {
  it('salvage > lake > no file is dead-lettered for a flawed value', () => {
    expect(deadLetters).toEqual([]);
  });

  it('salvage > lake > keeps a converter TCX whose distances have decimal commas, read as points and flagged', async () => {
    const rows = await query(`SELECT distance_m, quality_flags FROM samples WHERE exercise_id = 'comma' ORDER BY time_utc`);
    expect(rows).toEqual([
      { distance_m: 0, quality_flags: QUALITY.decimal_comma },
      { distance_m: 2.5, quality_flags: QUALITY.decimal_comma },
      { distance_m: 5, quality_flags: 0 },
    ]);
    expect(await query(`SELECT total_time_s, distance_m FROM laps WHERE exercise_id = 'comma'`)).toEqual([{ total_time_s: 3, distance_m: 7.5 }]);
  });

  it('salvage > lake > keeps a TCX with `<LatitudeDegrees>no` and a time stepping backwards: every point, flagged', async () => {
    const rows = await query(`SELECT latitude_deg, heart_rate_bpm, quality_flags FROM samples WHERE exercise_id = 'no' ORDER BY source_row`);
    expect(rows).toEqual([
      { latitude_deg: 60.1, heart_rate_bpm: 100, quality_flags: 0 },
      { latitude_deg: null, heart_rate_bpm: 101, quality_flags: QUALITY.value_unparseable },
      { latitude_deg: 60.1002, heart_rate_bpm: 102, quality_flags: QUALITY.time_backwards },
    ]);
  });

  it('salvage > lake > source_files counts every kind of flaw per file, so a notebook can filter', async () => {
    const rows = await query(
      `SELECT exercise_id, source_format, content, sample_count, route_point_count, dropped_point_count, ignored_point_count,
              time_backwards_count, value_unparseable_count, decimal_comma_count, time_unparseable_count, local_date::VARCHAR AS local_date, year
       FROM source_files ORDER BY exercise_id`,
    );
    expect(rows).toEqual([
      { exercise_id: 'comma', source_format: 'tcx', content: 'activity', sample_count: 3, route_point_count: 0, dropped_point_count: 0, ignored_point_count: 0,
        time_backwards_count: 0, value_unparseable_count: 0, decimal_comma_count: 4, time_unparseable_count: 0, local_date: '2013-12-12', year: 2013 },
      { exercise_id: 'course', source_format: 'tcx', content: 'course', sample_count: 0, route_point_count: 2, dropped_point_count: 0, ignored_point_count: 0,
        time_backwards_count: 0, value_unparseable_count: 0, decimal_comma_count: 0, time_unparseable_count: 0, local_date: null, year: 1970 },
      { exercise_id: 'no', source_format: 'tcx', content: 'activity', sample_count: 3, route_point_count: 0, dropped_point_count: 0, ignored_point_count: 0,
        time_backwards_count: 1, value_unparseable_count: 1, decimal_comma_count: 0, time_unparseable_count: 0, local_date: '2019-05-01', year: 2019 },
      { exercise_id: 'route', source_format: 'gpx', content: 'course', sample_count: 0, route_point_count: 3, dropped_point_count: 1, ignored_point_count: 1,
        time_backwards_count: 0, value_unparseable_count: 1, decimal_comma_count: 1, time_unparseable_count: 0, local_date: null, year: 1970 },
    ]);
    // The filter the docs show: only clean files' samples.
    const clean = await query(`SELECT count(*) AS n FROM samples s JOIN source_files f USING (user_id, exercise_id, source_format) WHERE f.time_backwards_count + f.value_unparseable_count = 0`);
    expect(clean).toEqual([{ n: 3 }]);
  });

  it('salvage > lake > puts a course-only TCX and a GPX route in routes; a point without a time in year=1970', async () => {
    const rows = await query(
      `SELECT exercise_id, source_format, route_index, point_index, time_utc IS NULL AS no_time, local_date::VARCHAR AS local_date, year,
              latitude_deg, longitude_deg, altitude_m, satellites, fix, name
       FROM routes ORDER BY exercise_id, route_index, point_index`,
    );
    expect(rows).toEqual([
      { exercise_id: 'course', source_format: 'tcx', route_index: 0, point_index: 0, no_time: false, local_date: '2024-01-01', year: 2024, latitude_deg: 1, longitude_deg: 2, altitude_m: null, satellites: null, fix: null, name: 'Loop' },
      { exercise_id: 'course', source_format: 'tcx', route_index: 0, point_index: 1, no_time: false, local_date: '2024-01-01', year: 2024, latitude_deg: 1.001, longitude_deg: 2, altitude_m: null, satellites: null, fix: null, name: 'Loop' },
      { exercise_id: 'route', source_format: 'gpx', route_index: 0, point_index: 0, no_time: true, local_date: null, year: 1970, latitude_deg: 60.1, longitude_deg: 24.9, altitude_m: 12.5, satellites: 7, fix: 3, name: 'Loop' },
      { exercise_id: 'route', source_format: 'gpx', route_index: 0, point_index: 1, no_time: true, local_date: null, year: 1970, latitude_deg: 60.1005, longitude_deg: 24.901, altitude_m: 13.5, satellites: null, fix: 2, name: 'Loop' },
      // 21:30 at -03:00 is 00:30 UTC the next day: the local date decides the partition.
      { exercise_id: 'route', source_format: 'gpx', route_index: 1, point_index: 0, no_time: false, local_date: '2024-06-01', year: 2024, latitude_deg: 60.1, longitude_deg: 24.9, altitude_m: null, satellites: null, fix: null, name: 'Back' },
    ]);
  });
});

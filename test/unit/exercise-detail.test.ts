import { describe, expect, it } from 'vitest';
import { localEpochDay } from '../../src/lake/partition.ts';
import {
  ExerciseDetailError,
  heartRateZoneRows,
  routeRows,
  sampleSeriesRows,
  type DetailOutput,
  type ExerciseDetailContext,
} from '../../src/parse/exercise-detail.ts';
import { normaliseExerciseSummary } from '../../src/parse/exercise-summary.ts';
import type { ExerciseSeriesRow, RrIntervalRow } from '../../src/records/rows.ts';

const START_US = Date.UTC(2025, 5, 2, 21, 59, 58) * 1000;
const ctx = (over: Partial<ExerciseDetailContext> = {}): ExerciseDetailContext => ({
  userId: '475', exerciseId: 'ymeoBNZw', file: 'raw/x/samples.json.gz', startUtcUs: START_US, utcOffsetMin: 120, ...over,
});

/** Every row of every batch, and the error thrown after them (if any). */
function drain(gen: Generator<DetailOutput>): { series: ExerciseSeriesRow[]; rr: RrIntervalRow[]; error: unknown } {
  const series: ExerciseSeriesRow[] = [];
  const rr: RrIntervalRow[] = [];
  let error: unknown;
  try {
    for (const out of gen) {
      if (out.table === 'exercise_series') series.push(...out.rows);
      else rr.push(...out.rows);
    }
  } catch (e) {
    error = e;
  }
  return { series, rr, error };
}

describe('parse > exercise detail > sample series', () => {
  it('parse > exercise detail > series > both spellings give the same rows, one per value, at start + i x rate', () => {
    const hyphen = { 'recording-rate': 2, 'sample-type': '1', data: '10.5,11,null' };
    const snake = { recording_rate: 2, sample_type: 1, data: '10.5,11,null' };
    const a = drain(sampleSeriesRows({ samples: [hyphen] }, ctx()));
    const b = drain(sampleSeriesRows([snake], ctx()));
    expect(a.error).toBeUndefined();
    expect(a.series).toEqual(b.series);
    expect(a.series.map((r) => [r.sample_type, r.sample_type_id, r.sample_index, r.time_utc_us - START_US, r.value, r.unit, r.missing_reason, r.recording_rate_s])).toEqual([
      ['speed', 1, 0, 0, 10.5, 'km/h', null, 2],
      ['speed', 1, 1, 2_000_000, 11, 'km/h', null, 2],
      ['speed', 1, 2, 4_000_000, null, 'km/h', 'null', 2],
    ]);
    expect(a.series.every((r) => r.user_id === '475' && r.exercise_id === 'ymeoBNZw' && r.utc_offset_min === 120)).toBe(true);
  });

  it('parse > exercise detail > series > every appendix type gets its name; 0 is a sentinel only where 0 cannot be a reading', () => {
    const types = Array.from({ length: 11 }, (_, id) => ({ 'recording-rate': 1, 'sample-type': String(id), data: '0,5' }));
    const { series, error } = drain(sampleSeriesRows(types, ctx()));
    expect(error).toBeUndefined();
    const first = series.filter((r) => r.sample_index === 0);
    expect(first.map((r) => r.sample_type)).toEqual([
      'heart_rate', 'speed', 'cadence', 'altitude', 'power', 'power_pedaling_index', 'power_lr_balance', 'air_pressure', 'running_cadence', 'temperature', 'distance',
    ]);
    const sentinel = first.filter((r) => r.missing_reason === 'zero_sentinel').map((r) => r.sample_type);
    expect(sentinel).toEqual(['heart_rate', 'air_pressure']);
    // A standing start (speed 0), coasting (cadence 0) or 0 °C are readings.
    expect(first.find((r) => r.sample_type === 'speed')).toMatchObject({ value: 0, missing_reason: null });
    expect(first.find((r) => r.sample_type === 'temperature')).toMatchObject({ value: 0, missing_reason: null });
  });

  it('parse > exercise detail > series > empty entries and junk are missing values, not errors; an unknown type keeps its id', () => {
    const { series, error } = drain(sampleSeriesRows([{ 'recording-rate': 1, 'sample-type': '42', data: '1,,abc, 4 ' }], ctx()));
    expect(error).toBeUndefined();
    expect(series.map((r) => [r.sample_type, r.value, r.missing_reason])).toEqual([
      ['type_42', 1, null], ['type_42', null, 'null'], ['type_42', null, 'unparseable'], ['type_42', 4, null],
    ]);
    expect(series[0]!.unit).toBeNull();
  });

  it('parse > exercise detail > series > a series that cannot be placed is skipped, the others kept, and a typed error names it', () => {
    const { series, error } = drain(sampleSeriesRows([
      { 'recording-rate': 1, 'sample-type': '0', data: '100,101' },
      { 'recording-rate': null, 'sample-type': '3', data: '12,13' },
      { 'recording-rate': 1, 'sample-type': '10', data: { not: 'a string' } },
      { 'recording-rate': 1, 'sample-type': '8', data: '170' },
    ], ctx()));
    expect(series.map((r) => r.sample_type)).toEqual(['heart_rate', 'heart_rate', 'running_cadence']);
    expect(error).toBeInstanceOf(ExerciseDetailError);
    expect((error as ExerciseDetailError).code).toBe('PL_EXERCISE_DETAIL_INVALID');
    expect((error as ExerciseDetailError).message).toMatch(/raw\/x\/samples\.json\.gz: samples: 2 sample series skipped: samples\[1\] \(type 3\): no recording rate/);
  });

  it('parse > exercise detail > series > null, absent or empty samples give no rows', () => {
    for (const input of [null, undefined, [], { samples: null }, { samples: [] }]) {
      expect(drain(sampleSeriesRows(input, ctx()))).toEqual({ series: [], rr: [], error: undefined });
    }
    expect(drain(sampleSeriesRows('nope', ctx())).error).toBeInstanceOf(ExerciseDetailError);
  });

  it('parse > exercise detail > series > batches hold at most batchRows rows, in order', () => {
    const data = Array.from({ length: 10 }, (_, i) => String(100 + i)).join(',');
    const sizes = [...sampleSeriesRows([{ 'recording-rate': 1, 'sample-type': '0', data }], ctx(), 4)].map((o) => o.rows.length);
    expect(sizes).toEqual([4, 4, 2]);
  });
});

describe('parse > exercise detail > rr intervals', () => {
  it('parse > exercise detail > rr > beat times are the cumulative sum from the start; a null is a gap that adds nothing and starts a new segment', () => {
    const { rr, series, error } = drain(sampleSeriesRows([{ 'recording-rate': null, 'sample-type': '11', data: '800,810,null,790,0,805' }], ctx()));
    expect(error).toBeUndefined();
    expect(series).toEqual([]);
    expect(rr.map((r) => [r.beat_index, r.segment_index, (r.time_utc_us - START_US) / 1000, r.interval_ms, r.is_gap, r.missing_reason])).toEqual([
      [0, 0, 800, 800, false, null],
      [1, 0, 1610, 810, false, null],
      [2, 0, 1610, null, true, 'null'],
      [3, 1, 2400, 790, false, null],
      [4, 1, 2400, null, true, 'zero_sentinel'],
      [5, 2, 3205, 805, false, null],
    ]);
  });

  it('parse > exercise detail > rr > hyphenated and snake_case RR series give the same rows', () => {
    const a = drain(sampleSeriesRows([{ 'recording-rate': null, 'sample-type': '11', data: '900,null,880' }], ctx()));
    const b = drain(sampleSeriesRows([{ recording_rate: null, sample_type: 11, data: '900,null,880' }], ctx()));
    expect(a.rr).toEqual(b.rr);
    expect(a.rr).toHaveLength(3);
  });
});

describe('parse > exercise detail > time zones', () => {
  // 23:59:58 local on 2 June, east and west of UTC: the third value is past local midnight.
  it.each([
    ['east (+03:00)', '2025-06-02T23:59:58', 180, '2025-06-02T20:59:58.000Z'],
    ['west (-07:00)', '2025-06-02T23:59:58', -420, '2025-06-03T06:59:58.000Z'],
  ])('parse > exercise detail > %s: UTC instants from the summary start, local dates roll over at local midnight', (_, local, offset, utc) => {
    const { row } = normaliseExerciseSummary({ id: 56, 'start-time': local, 'start-time-utc-offset': offset }, { userId: '1', file: 'f' });
    const { series } = drain(sampleSeriesRows([{ 'recording-rate': 1, 'sample-type': '0', data: '120,121,122' }], ctx({ startUtcUs: row.start_time_utc_us, utcOffsetMin: row.utc_offset_min })));
    expect(new Date(series[0]!.time_utc_us / 1000).toISOString()).toBe(utc);
    const localDays = series.map((r) => new Date(localEpochDay(r.time_utc_us, r.utc_offset_min) * 86_400_000).toISOString().slice(0, 10));
    expect(localDays).toEqual(['2025-06-02', '2025-06-02', '2025-06-03']);
    expect(series.every((r) => r.utc_offset_min === offset)).toBe(true);
  });
});

describe('parse > exercise detail > heart-rate zones', () => {
  const zone = { index: 2, 'lower-limit': 114, 'upper-limit': 133, 'in-zone': 'PT4M12.5S' };
  it('parse > exercise detail > zones > the transactional wrapper, the listing array and snake_case keys give the same rows', () => {
    const a = heartRateZoneRows({ zone: [zone] }, ctx());
    const b = heartRateZoneRows([{ index: 2, lower_limit: 114, upper_limit: 133, in_zone: 'PT4M12.5S' }], ctx());
    expect(a).toEqual(b);
    expect(a).toEqual([{ user_id: '475', exercise_id: 'ymeoBNZw', zone_index: 2, lower_limit_bpm: 114, upper_limit_bpm: 133, in_zone_s: 252.5, start_time_utc_us: START_US, utc_offset_min: 120 }]);
  });

  it('parse > exercise detail > zones > null (no zone info) gives no rows; a zone without an index is a typed error', () => {
    expect(heartRateZoneRows(null, ctx())).toEqual([]);
    expect(heartRateZoneRows({ zone: null }, ctx())).toEqual([]);
    expect(() => heartRateZoneRows([{ 'lower-limit': 1 }], ctx())).toThrow(ExerciseDetailError);
  });
});

describe('parse > exercise detail > route', () => {
  it('parse > exercise detail > route > points at start + their ISO duration, satellites and fix kept, API source', () => {
    const points = [
      { latitude: 60.2198, longitude: 25.1392, time: 'PT0S', satellites: 4, fix: 1 },
      { latitude: 60.22, longitude: 25.14, time: 'PT210.026S', satellites: 9, fix: 3 },
      { latitude: 60.23, longitude: 25.15 },
    ];
    const rows = [...routeRows(points, ctx())].flat();
    expect(rows.map((r) => [r.point_index, r.time_utc_us === null ? null : r.time_utc_us - START_US, r.latitude_deg, r.satellites, r.fix])).toEqual([
      [0, 0, 60.2198, 4, 1],
      [1, 210_026_000, 60.22, 9, 3],
      [2, null, 60.23, null, null],
    ]);
    expect(rows.every((r) => r.source_format === 'api' && r.route_index === 0 && r.altitude_m === null && r.name === null)).toBe(true);
  });

  it('parse > exercise detail > route > a point without a valid position is skipped and reported after the others', () => {
    const got: number[] = [];
    expect(() => {
      for (const rows of routeRows([{ latitude: 1, longitude: 2, time: 'PT1S' }, { latitude: 'x', longitude: 2 }, { latitude: 95, longitude: 2 }, { latitude: 3, longitude: 4, time: 'PT2S' }], ctx())) {
        got.push(...rows.map((r) => r.point_index));
      }
    }).toThrow(/2 route point\(s\) without a valid latitude\/longitude skipped \(first: 1\)/);
    expect(got).toEqual([0, 3]);
  });
});

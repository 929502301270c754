import { describe, expect, it } from 'vitest';
import { isArrowStream } from '../../src/records/arrow-codec.ts';
import { decodeEnvelope, encodeEnvelope, sourceIdFor, type RecordBatchEnvelope } from '../../src/records/envelope.ts';

describe('records > envelope', () => {
  it('round-trips a record batch through Arrow IPC, nulls included', () => {
    const env: RecordBatchEnvelope<'laps'> = {
      type: 'records', table: 'laps', schema_version: 1, user_id: '7', source_id: sourceIdFor('raw/x'), row_offset: 4, last: true,
      rows: [
        { user_id: '7', exercise_id: 'e', source_format: 'tcx', activity_index: 0, lap_index: 0, start_time_utc_us: 1, utc_offset_min: null, total_time_s: 60, distance_m: null, max_speed_mps: null, calories_kcal: 5, avg_heart_rate_bpm: null, max_heart_rate_bpm: null, avg_cadence_rpm: null, avg_power_w: null, intensity: 'Active', trigger_method: null },
        { user_id: '7', exercise_id: 'e', source_format: 'tcx', activity_index: 0, lap_index: 1, start_time_utc_us: 2, utc_offset_min: 60, total_time_s: 61.5, distance_m: 10, max_speed_mps: 3, calories_kcal: null, avg_heart_rate_bpm: 120, max_heart_rate_bpm: 150, avg_cadence_rpm: 80, avg_power_w: 200, intensity: null, trigger_method: 'Manual' },
      ],
    };
    const wire = encodeEnvelope(env);
    expect(isArrowStream(wire)).toBe(true);
    expect(decodeEnvelope(wire)).toEqual(env);
  });

  it('keeps every JS value exactly: epoch microseconds, booleans, nulls, and columns of mixed types', () => {
    const rows = [
      { t: 1_748_851_200_123_456, b: true, s: 'a', n: null, mixed: 5 },
      { t: -1, b: null, s: null, n: null, mixed: 'five' },
      { t: 0.1 + 0.2, b: false, s: 'a', n: null, mixed: null },
    ];
    const env = { type: 'records', table: 'samples', schema_version: 1, user_id: 'u', source_id: 's', row_offset: 0, last: false, rows } as unknown as RecordBatchEnvelope;
    expect(decodeEnvelope(encodeEnvelope(env))).toEqual(env);
  });

  it('still decodes columnar JSON record batches written before Arrow (topics replay across versions)', () => {
    const legacy = { type: 'records', table: 'laps', schema_version: 1, user_id: 'u', source_id: 's', row_offset: 2, last: true, count: 2, columns: { lap_index: [0, 1], intensity: ['Active', null] } };
    expect(decodeEnvelope(Buffer.from(JSON.stringify(legacy)))).toEqual({
      type: 'records', table: 'laps', schema_version: 1, user_id: 'u', source_id: 's', row_offset: 2, last: true,
      rows: [{ lap_index: 0, intensity: 'Active' }, { lap_index: 1, intensity: null }],
    });
  });

  it('keeps events as JSON', () => {
    const ev = { type: 'deadletter', user_id: 'u', raw_key: 'k', stage: 'parse', error: { code: 'PL_X' }, at_utc: 'now' } as const;
    expect(encodeEnvelope(ev).toString()).toBe(JSON.stringify(ev));
    expect(decodeEnvelope(encodeEnvelope(ev))).toEqual(ev);
  });

  it('derives the same path-safe source id from the same raw key', () => {
    expect(sourceIdFor('raw/a/b.tcx.gz')).toBe(sourceIdFor('raw/a/b.tcx.gz'));
    expect(sourceIdFor('raw/a/b.tcx.gz')).not.toBe(sourceIdFor('raw/a/c.tcx.gz'));
    expect(sourceIdFor('x')).toMatch(/^[0-9a-f]{24}$/);
  });
});

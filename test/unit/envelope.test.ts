import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, sourceIdFor, type RecordBatchEnvelope } from '../../src/records/envelope.ts';

describe('records > envelope', () => {
  it('round-trips a record batch through the columnar wire form, nulls included', () => {
    const env: RecordBatchEnvelope<'laps'> = {
      type: 'records', table: 'laps', schema_version: 1, user_id: '7', source_id: sourceIdFor('raw/x'), row_offset: 4, last: true,
      rows: [
        { user_id: '7', exercise_id: 'e', source_format: 'tcx', activity_index: 0, lap_index: 0, start_time_utc_us: 1, utc_offset_min: null, total_time_s: 60, distance_m: null, max_speed_mps: null, calories_kcal: 5, avg_heart_rate_bpm: null, max_heart_rate_bpm: null, avg_cadence_rpm: null, avg_power_w: null, intensity: 'Active', trigger_method: null },
        { user_id: '7', exercise_id: 'e', source_format: 'tcx', activity_index: 0, lap_index: 1, start_time_utc_us: 2, utc_offset_min: 60, total_time_s: 61.5, distance_m: 10, max_speed_mps: 3, calories_kcal: null, avg_heart_rate_bpm: 120, max_heart_rate_bpm: 150, avg_cadence_rpm: 80, avg_power_w: 200, intensity: null, trigger_method: 'Manual' },
      ],
    };
    const wire = encodeEnvelope(env);
    expect(JSON.parse(wire.toString()).rows).toBeUndefined();
    expect(decodeEnvelope(wire)).toEqual(env);
  });

  it('derives the same path-safe source id from the same raw key', () => {
    expect(sourceIdFor('raw/a/b.tcx.gz')).toBe(sourceIdFor('raw/a/b.tcx.gz'));
    expect(sourceIdFor('raw/a/b.tcx.gz')).not.toBe(sourceIdFor('raw/a/c.tcx.gz'));
    expect(sourceIdFor('x')).toMatch(/^[0-9a-f]{24}$/);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DailyActivityRow, ExerciseRow, LapRow, SampleRow, SleepRow, TableRows } from '../../src/records/rows.ts';
import { fieldColumns, loadTableSchema, schemaVersions, TABLE_NAMES } from '../../src/lake/schema.ts';
import { renderTableDocs } from '../../src/lake/table-docs.ts';

// Fully populated rows: adding a field to rows.ts without the schema (or the reverse) fails
// to compile here or fails the key comparison below.
const sample: Required<SampleRow> = {
  user_id: 'u', exercise_id: 'e', source_format: 'tcx', time_utc_us: 1, utc_offset_min: 60, activity_index: 0, lap_index: 0,
  segment_index: 0, latitude_deg: 1, longitude_deg: 1, altitude_m: 1, distance_m: 1, heart_rate_bpm: 1, cadence_rpm: 1,
  speed_mps: 1, power_w: 1, temperature_c: 1, sensor_state: 'Present', vertical_oscillation_mm: 1, stance_time_ms: 1,
  step_length_mm: 1, left_right_balance_pct: 1,
};
const lap: Required<LapRow> = {
  user_id: 'u', exercise_id: 'e', source_format: 'tcx', activity_index: 0, lap_index: 0, start_time_utc_us: 1, utc_offset_min: 0,
  total_time_s: 1, distance_m: 1, max_speed_mps: 1, calories_kcal: 1, avg_heart_rate_bpm: 1, max_heart_rate_bpm: 1,
  avg_cadence_rpm: 1, avg_power_w: 1, intensity: 'Active', trigger_method: 'Manual',
};
const exercise: Required<ExerciseRow> = {
  user_id: 'u', exercise_id: 'e', transaction_id: 't', upload_time_utc_us: 1, start_time_utc_us: 1, utc_offset_min: 0,
  duration_s: 1, calories_kcal: 1, distance_m: 1, heart_rate_avg_bpm: 1, heart_rate_max_bpm: 1, training_load: 1,
  sport: 'RUNNING', detailed_sport_info: 'RUNNING', device: 'd', device_id: 'i', has_route: true, running_index: 1,
  fat_percentage: 1, carbohydrate_percentage: 1, protein_percentage: 1, cardio_load: 1, muscle_load: 1, perceived_load: 1,
  source: 'accesslink', other_sources: 'tcx:imp-1',
};
const dailyActivity: Required<DailyActivityRow> = {
  user_id: 'u', date_start_utc_us: 1, utc_offset_min: null, start_time_utc_us: 1, end_time_utc_us: 1, active_duration_s: 1,
  inactive_duration_s: 1, daily_activity_pct: 1, calories_kcal: 1, active_calories_kcal: 1, steps: 1, inactivity_alert_count: 0,
  distance_from_steps_m: 1,
};
const sleep: Required<SleepRow> = {
  user_id: 'u', date_start_utc_us: 1, utc_offset_min: 60, sleep_start_utc_us: 1, sleep_end_utc_us: 1, sleep_end_utc_offset_min: 60,
  device_id: 'd', continuity: 1, continuity_class: 1, light_sleep_s: 1, deep_sleep_s: 1, rem_sleep_s: 1, unrecognized_sleep_stage_s: 0,
  total_interruption_duration_s: 1, short_interruption_duration_s: 1, long_interruption_duration_s: 0, sleep_goal_s: 1, sleep_score: 1,
  sleep_charge: 1, sleep_rating: 0, sleep_cycles: 1, group_duration_score: 1, group_solidity_score: 1, group_regeneration_score: 1,
};
const full: { [T in keyof TableRows]: Required<TableRows[T]> } = { samples: sample, laps: lap, exercises: exercise, daily_activity: dailyActivity, sleep };

describe('lake > schema', () => {
  it.each(TABLE_NAMES)('lake > schema > %s columns equal the rows.ts fields', (table) => {
    const schema = loadTableSchema(table);
    expect(fieldColumns(schema).map((c) => c.field).sort()).toEqual(Object.keys(full[table]).sort());
  });

  it.each(TABLE_NAMES)('lake > schema > %s stores instants as µs UTC without the _us suffix', (table) => {
    for (const c of loadTableSchema(table).columns) {
      if (c.type === 'TIMESTAMPTZ') {
        expect(c.field).toMatch(/_utc_us$/);
        expect(c.name).toBe(c.field?.replace(/_us$/, ''));
      }
      expect(c.name).not.toMatch(/_us$/);
    }
  });

  it.each(TABLE_NAMES)('lake > schema > %s has a local_date and lineage columns', (table) => {
    const names = loadTableSchema(table).columns.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['local_date', 'utc_offset_min', 'source_id', 'source_row']));
    expect(schemaVersions(table)).toContain(1);
  });

  it('lake > schema > docs/tables.md is generated from the schemas', () => {
    const committed = readFileSync(new URL('../../docs/tables.md', import.meta.url), 'utf8');
    // Regenerate with: node bin/run-ts.mjs scripts/gen-table-docs.ts
    expect(committed).toBe(renderTableDocs());
  });
});

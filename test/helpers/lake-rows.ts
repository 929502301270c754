/** Generated rows and envelopes for the lake tests and bench/sink.ts (deterministic). */
import { sourceIdFor, type RecordBatchEnvelope } from '../../src/records/envelope.ts';
import type { ExerciseRow, LapRow, SampleRow } from '../../src/records/rows.ts';

export interface WorkoutSpec {
  readonly user_id: string;
  readonly exercise_id: string;
  /** Start instant, epoch ms UTC. */
  readonly start_ms: number;
  readonly utc_offset_min: number | null;
  readonly samples: number;
  readonly sport?: string;
}

export function sampleRows(w: WorkoutSpec): SampleRow[] {
  const rows: SampleRow[] = [];
  for (let i = 0; i < w.samples; i++) {
    rows.push({
      user_id: w.user_id, exercise_id: w.exercise_id, source_format: 'tcx', time_utc_us: (w.start_ms + i * 1000) * 1000, utc_offset_min: w.utc_offset_min,
      activity_index: 0, lap_index: Math.floor(i / 600), segment_index: 0, latitude_deg: 60.17 + i * 1e-5, longitude_deg: 24.94 + i * 1e-5,
      altitude_m: i % 7 === 0 ? null : 10 + (i % 13), distance_m: i * 2.8, heart_rate_bpm: 100 + ((i * 7) % 90), cadence_rpm: 80 + (i % 9),
      speed_mps: 2.8, power_w: null, temperature_c: null, sensor_state: i % 2 ? 'Present' : null, vertical_oscillation_mm: null,
      stance_time_ms: null, step_length_mm: null, left_right_balance_pct: null,
    });
  }
  return rows;
}

export function lapRows(w: WorkoutSpec): LapRow[] {
  const laps = Math.max(1, Math.ceil(w.samples / 600));
  return Array.from({ length: laps }, (_, i) => ({
    user_id: w.user_id, exercise_id: w.exercise_id, source_format: 'tcx', activity_index: 0, lap_index: i,
    start_time_utc_us: (w.start_ms + i * 600_000) * 1000, utc_offset_min: w.utc_offset_min, total_time_s: 600, distance_m: 1680,
    max_speed_mps: 3.5, calories_kcal: 120, avg_heart_rate_bpm: 140, max_heart_rate_bpm: 170, avg_cadence_rpm: 84, avg_power_w: null,
    intensity: 'Active', trigger_method: 'Distance',
  }));
}

export function exerciseRow(w: WorkoutSpec): ExerciseRow {
  return {
    user_id: w.user_id, exercise_id: w.exercise_id, transaction_id: null, upload_time_utc_us: (w.start_ms + 7_200_000) * 1000,
    start_time_utc_us: w.start_ms * 1000, utc_offset_min: w.utc_offset_min, duration_s: w.samples, calories_kcal: w.samples / 6,
    distance_m: w.samples * 2.8, heart_rate_avg_bpm: 140, heart_rate_max_bpm: 175, training_load: w.samples / 40, sport: w.sport ?? 'RUNNING',
    detailed_sport_info: w.sport ?? 'RUNNING', device: 'Polar Vantage V3', device_id: 'ABC', has_route: true, running_index: 50,
    fat_percentage: 40, carbohydrate_percentage: 55, protein_percentage: 5, cardio_load: 80, muscle_load: null, perceived_load: null, source: 'accesslink', other_sources: null,
  };
}

/** Envelopes as the parser emits them: batches of `batchRows` rows per source and table. */
export function envelopesFor(w: WorkoutSpec, batchRows = 1000): RecordBatchEnvelope[] {
  const out: RecordBatchEnvelope[] = [];
  const file = sourceIdFor(`raw/${w.user_id}/${w.exercise_id}.tcx.gz`);
  const summary = sourceIdFor(`raw/${w.user_id}/${w.exercise_id}.json.gz`);
  const split = <T extends 'samples' | 'laps' | 'exercises'>(table: T, source_id: string, rows: RecordBatchEnvelope<T>['rows']) => {
    for (let off = 0; off < rows.length || off === 0; off += batchRows) {
      out.push({ type: 'records', table, schema_version: 1, user_id: w.user_id, source_id, row_offset: off, last: off + batchRows >= rows.length, rows: rows.slice(off, off + batchRows) } as RecordBatchEnvelope);
    }
  };
  split('samples', file, sampleRows(w));
  split('laps', file, lapRows(w));
  split('exercises', summary, [exerciseRow(w)]);
  return out;
}

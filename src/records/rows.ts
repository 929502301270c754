/**
 * The rows the parsers emit and the sink writes. The column lists, types, units and
 * descriptions live in schemas/tables/*.json (the single source of truth); these TypeScript
 * shapes mirror them, and test/unit/schema-rows.test.ts fails when the two drift apart.
 *
 * Conventions: snake_case names with units; instants are UTC epoch **microseconds**
 * (`*_utc_us`, stored as Parquet TIMESTAMP(µs, UTC)); `utc_offset_min` is the local offset
 * from UTC in minutes where the source gives it; every measured value may be null.
 */

/** One trackpoint / record: one row per sample instant of one exercise file. */
export interface SampleRow {
  user_id: string;
  exercise_id: string;
  /** Which payload the row came from: 'tcx' | 'gpx' | 'fit'. */
  source_format: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  /** 0-based index of the Activity (TCX) / track (GPX) / session (FIT) in the file. */
  activity_index: number;
  /** 0-based lap index within the activity; null where the format has no laps. */
  lap_index: number | null;
  /** 0-based segment index (GPX trkseg, FIT timer start/stop): a change is a pause. */
  segment_index: number | null;
  latitude_deg: number | null;
  longitude_deg: number | null;
  altitude_m: number | null;
  distance_m: number | null;
  heart_rate_bpm: number | null;
  cadence_rpm: number | null;
  speed_mps: number | null;
  power_w: number | null;
  temperature_c: number | null;
  /** TCX SensorState ('Present' | 'Absent'), else null. */
  sensor_state: string | null;
  /** FIT running dynamics and power balance; null elsewhere. */
  vertical_oscillation_mm: number | null;
  stance_time_ms: number | null;
  step_length_mm: number | null;
  left_right_balance_pct: number | null;
}

/** One lap (TCX Lap, FIT lap message). */
export interface LapRow {
  user_id: string;
  exercise_id: string;
  source_format: string;
  activity_index: number;
  lap_index: number;
  start_time_utc_us: number;
  utc_offset_min: number | null;
  total_time_s: number | null;
  distance_m: number | null;
  max_speed_mps: number | null;
  calories_kcal: number | null;
  avg_heart_rate_bpm: number | null;
  max_heart_rate_bpm: number | null;
  avg_cadence_rpm: number | null;
  avg_power_w: number | null;
  /** TCX Intensity ('Active' | 'Resting'). */
  intensity: string | null;
  /** TCX TriggerMethod ('Manual' | 'Distance' | 'Location' | 'Time' | 'HeartRate'), FIT lap_trigger. */
  trigger_method: string | null;
}

/** One exercise summary (AccessLink exercise JSON, transactional or /v3/exercises). */
export interface ExerciseRow {
  user_id: string;
  exercise_id: string;
  transaction_id: string | null;
  upload_time_utc_us: number | null;
  start_time_utc_us: number;
  utc_offset_min: number | null;
  duration_s: number | null;
  calories_kcal: number | null;
  distance_m: number | null;
  heart_rate_avg_bpm: number | null;
  heart_rate_max_bpm: number | null;
  training_load: number | null;
  sport: string | null;
  detailed_sport_info: string | null;
  device: string | null;
  device_id: string | null;
  has_route: boolean | null;
  running_index: number | null;
  fat_percentage: number | null;
  carbohydrate_percentage: number | null;
  protein_percentage: number | null;
  cardio_load: number | null;
  muscle_load: number | null;
  perceived_load: number | null;
}

export interface TableRows {
  samples: SampleRow;
  laps: LapRow;
  exercises: ExerciseRow;
}

export type TableName = keyof TableRows;

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
  /** The winning source of the workout (accesslink, flow, fit, tcx, hrm, ppt, gpx); see src/jobs/exercise-identity.ts. */
  source: string | null;
  /** The other sources merged into this row, `source:exercise_id` comma-separated, best first. */
  other_sources: string | null;
}

/**
 * One day of one user's daily activity (`GET /v3/users/activities`, snake_case, or the
 * legacy hyphenated transactional summary). The day is the device's local date; AccessLink
 * gives no offset for it, so `utc_offset_min` is null and `start_time_utc_us` /
 * `end_time_utc_us` are the wall times AccessLink sends (documented as "UTC" without a
 * `Z`; the observed values are local midnight to 23:59:59) read as UTC.
 */
export interface DailyActivityRow {
  user_id: string;
  /** Local midnight of the day (AccessLink's day, device-local) as a UTC instant; the offset is unknown, so midnight UTC. Carries the date into `local_date`. */
  date_start_utc_us: number;
  utc_offset_min: number | null;
  start_time_utc_us: number | null;
  end_time_utc_us: number | null;
  active_duration_s: number | null;
  inactive_duration_s: number | null;
  daily_activity_pct: number | null;
  calories_kcal: number | null;
  active_calories_kcal: number | null;
  steps: number | null;
  inactivity_alert_count: number | null;
  distance_from_steps_m: number | null;
}

/** One night of one user's sleep (`GET /v3/users/sleep[/{date}]`), keyed by the result date. */
export interface SleepRow {
  user_id: string;
  /** Local midnight of the night's result date (AccessLink `date`, the wake-up day) at `utc_offset_min`, as a UTC instant: carries the date into `local_date`. */
  date_start_utc_us: number;
  /** Offset of `sleep_start_time` (e.g. +03:00 → 180); null when the source gives none. */
  utc_offset_min: number | null;
  sleep_start_utc_us: number | null;
  sleep_end_utc_us: number | null;
  /** Offset of `sleep_end_time`: differs from utc_offset_min across a DST change or a flight. */
  sleep_end_utc_offset_min: number | null;
  device_id: string | null;
  continuity: number | null;
  continuity_class: number | null;
  light_sleep_s: number | null;
  deep_sleep_s: number | null;
  rem_sleep_s: number | null;
  unrecognized_sleep_stage_s: number | null;
  total_interruption_duration_s: number | null;
  short_interruption_duration_s: number | null;
  long_interruption_duration_s: number | null;
  sleep_goal_s: number | null;
  sleep_score: number | null;
  sleep_charge: number | null;
  sleep_rating: number | null;
  sleep_cycles: number | null;
  group_duration_score: number | null;
  group_solidity_score: number | null;
  group_regeneration_score: number | null;
}

export interface TableRows {
  samples: SampleRow;
  laps: LapRow;
  exercises: ExerciseRow;
  daily_activity: DailyActivityRow;
  sleep: SleepRow;
}

export type TableName = keyof TableRows;

/**
 * The rows the parsers emit and the sink writes. The column lists, types, units and
 * descriptions live in schemas/tables/*.json (the single source of truth); these TypeScript
 * shapes mirror them, and test/unit/schema-rows.test.ts fails when the two drift apart.
 *
 * Conventions: snake_case names with units; instants are UTC epoch **microseconds**
 * (`*_utc_us`, stored as Parquet TIMESTAMP(µs, UTC)); `utc_offset_min` is the local offset
 * from UTC in minutes where the source gives it; every measured value may be null.
 */
import type { DateBasedTableRows } from './rows-date-based.ts';

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
  /** Bitmask of QUALITY (src/parse/values.ts): 1 time_backwards, 2 value_unparseable, 4 decimal_comma; 0 for a clean point. */
  quality_flags: number;
}

/**
 * One point of a planned or recorded route: a TCX Course Trackpoint, a GPX rtept, or a
 * point of an AccessLink exercise route (`?route=true`). Points without a position are not
 * route points (dropped and counted).
 */
export interface RouteRow {
  user_id: string;
  /** The exercise the route belongs to; for a course file, the id the file is stored under. */
  exercise_id: string;
  /** 'tcx' | 'gpx' | 'api' ... */
  source_format: string;
  /** 0-based course / route within the file. */
  route_index: number;
  /** 0-based point within the route. */
  point_index: number;
  time_utc_us: number | null;
  utc_offset_min: number | null;
  latitude_deg: number;
  longitude_deg: number;
  altitude_m: number | null;
  distance_m: number | null;
  satellites: number | null;
  fix: number | null;
  /** Course / route name. */
  name: string | null;
}

/**
 * One parsed raw object (TCX / GPX / FIT): what it held and how clean it was. The parse
 * stage writes one per file it reads, so a notebook can join samples to their file's flaws.
 */
export interface SourceFileRow {
  user_id: string;
  exercise_id: string;
  source_format: string;
  raw_key: string;
  content: string;
  creator_name: string | null;
  creator_version: string | null;
  author_name: string | null;
  sport: string | null;
  activity_count: number;
  lap_count: number;
  sample_count: number;
  route_point_count: number;
  dropped_point_count: number;
  ignored_point_count: number;
  time_backwards_count: number;
  value_unparseable_count: number;
  decimal_comma_count: number;
  time_unparseable_count: number;
  first_time_utc_us: number | null;
  last_time_utc_us: number | null;
  utc_offset_min: number | null;
  /** Sample columns holding at least one value, comma separated. */
  fields_present: string | null;
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

/**
 * One value of one AccessLink sample series (`/samples/{type-id}`, or the listing's inline
 * `samples`): value i of a series is at the exercise start + i × recording rate.
 */
export interface ExerciseSeriesRow {
  user_id: string;
  exercise_id: string;
  /** heart_rate, speed, cadence, altitude, power, power_pedaling_index, power_lr_balance, air_pressure, running_cadence, temperature, distance; `type_<id>` for an id the appendix does not list. */
  sample_type: string;
  /** AccessLink's sample type id (0-10; 11, RR, goes to rr_intervals). */
  sample_type_id: number;
  /** 0-based position in the series. */
  sample_index: number;
  time_utc_us: number;
  utc_offset_min: number | null;
  /** In `unit`, as the API gives it (speed km/h); null where Polar marked the value missing. */
  value: number | null;
  unit: string | null;
  /** Why value is null: 'null' (Polar's `null` entry: sensor off), 'zero_sentinel' (a 0 where 0 cannot be a reading: heart rate, air pressure); else null. */
  missing_reason: string | null;
  recording_rate_s: number | null;
}

/** One entry of an exercise's RR series (sample type 11): one beat, or one gap. */
export interface RrIntervalRow {
  user_id: string;
  exercise_id: string;
  /** 0-based position of the entry in the series (gaps included). */
  beat_index: number;
  /** Counts the gaps before this entry: beats of one segment are contiguous, HRV works per segment. */
  segment_index: number;
  /** Exercise start + the sum of the recorded intervals up to and including this one (a gap adds nothing: its length is unknown). */
  time_utc_us: number;
  utc_offset_min: number | null;
  interval_ms: number | null;
  is_gap: boolean;
  /** 'null' (Polar's `null`: sensor off) or 'zero_sentinel' (a 0 ms interval); null for a beat. */
  missing_reason: string | null;
}

/** One heart-rate zone of one exercise (`/heart-rate-zones`, or the listing's `heart_rate_zones`). */
export interface HrZoneRow {
  user_id: string;
  exercise_id: string;
  zone_index: number;
  lower_limit_bpm: number | null;
  upper_limit_bpm: number | null;
  in_zone_s: number | null;
  /** The exercise's start, so zones sit beside their exercise by date. */
  start_time_utc_us: number;
  utc_offset_min: number | null;
}

/**
 * One step sample of a day (current `samples.steps`, or legacy `/step-samples`). Device-local
 * wall time with no zone: `utc_offset_min` is null and `time_utc_us` is the wall time read as
 * UTC. Filtered identical counts are not filled in (see the table's description).
 */
export interface ActivityStepSampleRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  steps: number | null;
  /** AccessLink sent null for the count. */
  steps_missing: boolean;
  interval_s: number | null;
  day_total_steps: number | null;
  /** 'current' | 'transactional'. */
  source_channel: string;
}

/** One activity-zone sample: a current-API change point, or one zone of a legacy hourly sample. */
export interface ActivityZoneSampleRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  zone: string | null;
  zone_index: number | null;
  in_zone_s: number | null;
  source_channel: string;
}

/** One inactivity stamp (current `samples.inactivity_stamps`). */
export interface ActivityInactivityStampRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
}

/** One physical-information snapshot (transactional item or `GET /v3/users/physical-info`). */
export interface PhysicalInfoRow {
  user_id: string;
  /** `modified`, else `created`: the snapshot's identity. */
  snapshot_utc_us: number;
  utc_offset_min: number | null;
  created_utc_us: number | null;
  modified_utc_us: number | null;
  weight_kg: number | null;
  height_cm: number | null;
  weight_source: string | null;
  birthday: string | null;
  gender: string | null;
  maximum_heart_rate_bpm: number | null;
  resting_heart_rate_bpm: number | null;
  aerobic_threshold_bpm: number | null;
  anaerobic_threshold_bpm: number | null;
  vo2_max: number | null;
  sleep_goal_s: number | null;
  training_background: string | null;
  typical_day: string | null;
  /** 'current' | 'transactional'. */
  source_channel: string;
}

export interface TableRows extends DateBasedTableRows {
  samples: SampleRow;
  laps: LapRow;
  exercises: ExerciseRow;
  daily_activity: DailyActivityRow;
  sleep: SleepRow;
  exercise_series: ExerciseSeriesRow;
  rr_intervals: RrIntervalRow;
  hr_zones: HrZoneRow;
  routes: RouteRow;
  source_files: SourceFileRow;
  activity_step_samples: ActivityStepSampleRow;
  activity_zone_samples: ActivityZoneSampleRow;
  activity_inactivity_stamps: ActivityInactivityStampRow;
  physical_info: PhysicalInfoRow;
}

export type TableName = keyof TableRows;

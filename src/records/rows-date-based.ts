/**
 * Rows of the date-based night, heart and biosensing tables (src/daily/endpoints.ts).
 * Mirrors schemas/tables/<table>.v1.json (the source of truth, with each column's unit and
 * meaning); test/unit/lake-schema.test.ts fails when the two drift apart.
 * Instants are UTC epoch microseconds (`*_utc_us`); every measured value may be null.
 */

/** sleep_stages: see schemas/tables/sleep_stages.v1.json. */
export interface SleepStagesRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  sleep_date: string;
  clock_time: string;
  stage: number | null;
  stage_name: string | null;
  duration_s: number | null;
  sentinel: boolean;
}

/** sleep_heart_rate: see schemas/tables/sleep_heart_rate.v1.json. */
export interface SleepHeartRateRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  sleep_date: string;
  clock_time: string;
  heart_rate_bpm: number | null;
  sentinel: boolean;
}

/** nightly_recharge: see schemas/tables/nightly_recharge.v1.json. */
export interface NightlyRechargeRow {
  user_id: string;
  date_start_utc_us: number;
  utc_offset_min: number | null;
  sleep_start_utc_us: number | null;
  heart_rate_avg_bpm: number | null;
  beat_to_beat_avg_ms: number | null;
  heart_rate_variability_avg_ms: number | null;
  breathing_rate_avg: number | null;
  nightly_recharge_status: number | null;
  ans_charge: number | null;
  ans_charge_status: number | null;
}

/** nightly_recharge_hrv: see schemas/tables/nightly_recharge_hrv.v1.json. */
export interface NightlyRechargeHrvRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  sleep_date: string;
  clock_time: string;
  hrv_ms: number | null;
  sentinel: boolean;
}

/** nightly_recharge_breathing: see schemas/tables/nightly_recharge_breathing.v1.json. */
export interface NightlyRechargeBreathingRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  sleep_date: string;
  clock_time: string;
  breathing_rate: number | null;
  sentinel: boolean;
}

/** continuous_heart_rate: see schemas/tables/continuous_heart_rate.v1.json. */
export interface ContinuousHeartRateRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  clock_time: string;
  heart_rate_bpm: number | null;
  sentinel: boolean;
}

/** cardio_load: see schemas/tables/cardio_load.v1.json. */
export interface CardioLoadRow {
  user_id: string;
  date_start_utc_us: number;
  utc_offset_min: number | null;
  cardio_load: number | null;
  strain: number | null;
  tolerance: number | null;
  cardio_load_ratio: number | null;
  cardio_load_status: string | null;
  level_very_low: number | null;
  level_low: number | null;
  level_medium: number | null;
  level_high: number | null;
  level_very_high: number | null;
}

/** sleepwise_alertness: see schemas/tables/sleepwise_alertness.v1.json. */
export interface SleepwiseAlertnessRow {
  user_id: string;
  period_start_utc_us: number;
  period_end_utc_us: number | null;
  utc_offset_min: number | null;
  grade: number | null;
  grade_validity_s: number | null;
  grade_type: string | null;
  grade_classification: string | null;
  validity: string | null;
  sleep_inertia: string | null;
  sleep_type: string | null;
  result_type: string | null;
  sleep_period_start_utc_us: number | null;
  sleep_period_end_utc_us: number | null;
}

/** sleepwise_alertness_hourly: see schemas/tables/sleepwise_alertness_hourly.v1.json. */
export interface SleepwiseAlertnessHourlyRow {
  user_id: string;
  start_time_utc_us: number;
  end_time_utc_us: number | null;
  utc_offset_min: number | null;
  period_start_utc_us: number;
  validity: string | null;
  alertness_level: string | null;
}

/** sleepwise_circadian_bedtime: see schemas/tables/sleepwise_circadian_bedtime.v1.json. */
export interface SleepwiseCircadianBedtimeRow {
  user_id: string;
  period_start_utc_us: number;
  period_end_utc_us: number | null;
  utc_offset_min: number | null;
  validity: string | null;
  quality: string | null;
  result_type: string | null;
  preferred_sleep_period_start_utc_us: number | null;
  preferred_sleep_period_end_utc_us: number | null;
  sleep_gate_start_utc_us: number | null;
  sleep_gate_end_utc_us: number | null;
}

/** body_temperature: see schemas/tables/body_temperature.v1.json. */
export interface BodyTemperatureRow {
  user_id: string;
  start_time_utc_us: number;
  end_time_utc_us: number | null;
  modified_time_utc_us: number | null;
  utc_offset_min: number | null;
  source_device_id: string | null;
  measurement_type: string | null;
  sensor_location: string | null;
  sample_count: number;
}

/** body_temperature_samples: see schemas/tables/body_temperature_samples.v1.json. */
export interface BodyTemperatureSamplesRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  period_start_utc_us: number;
  source_device_id: string | null;
  recording_time_delta_ms: number;
  temperature_c: number | null;
  sentinel: boolean;
}

/** skin_temperature: see schemas/tables/skin_temperature.v1.json. */
export interface SkinTemperatureRow {
  user_id: string;
  date_start_utc_us: number;
  utc_offset_min: number | null;
  skin_temperature_c: number | null;
  deviation_from_baseline_c: number | null;
}

/** skin_contacts: see schemas/tables/skin_contacts.v1.json. */
export interface SkinContactsRow {
  user_id: string;
  start_time_utc_us: number;
  end_time_utc_us: number | null;
  modified_time_utc_us: number | null;
  utc_offset_min: number | null;
  source_device_id: string | null;
  change_count: number;
}

/** skin_contact_changes: see schemas/tables/skin_contact_changes.v1.json. */
export interface SkinContactChangesRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  period_start_utc_us: number;
  source_device_id: string | null;
  recording_time_delta_ms: number;
  skin_contact: boolean | null;
}

/** ecg: see schemas/tables/ecg.v1.json. */
export interface EcgRow {
  user_id: string;
  test_time_utc_us: number;
  utc_offset_min: number | null;
  source_device_id: string | null;
  average_heart_rate_bpm: number | null;
  heart_rate_variability_ms: number | null;
  heart_rate_variability_level: string | null;
  rri_ms: number | null;
  pulse_transit_time_systolic_ms: number | null;
  pulse_transit_time_diastolic_ms: number | null;
  pulse_transit_time_quality_index: number | null;
  sample_count: number;
}

/** ecg_samples: see schemas/tables/ecg_samples.v1.json. */
export interface EcgSamplesRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  test_time_utc_us: number;
  recording_time_delta_ms: number;
  amplitude_mv: number | null;
  sentinel: boolean;
}

/** ecg_quality_measurements: see schemas/tables/ecg_quality_measurements.v1.json. */
export interface EcgQualityMeasurementsRow {
  user_id: string;
  time_utc_us: number;
  utc_offset_min: number | null;
  test_time_utc_us: number;
  recording_time_delta_ms: number;
  quality_level: string | null;
}

/** spo2: see schemas/tables/spo2.v1.json. */
export interface Spo2Row {
  user_id: string;
  test_time_utc_us: number;
  utc_offset_min: number | null;
  source_device_id: string | null;
  test_status: string | null;
  blood_oxygen_percent: number | null;
  spo2_class: string | null;
  spo2_value_deviation_from_baseline: string | null;
  spo2_quality_average_percent: number | null;
  average_heart_rate_bpm: number | null;
  heart_rate_variability_ms: number | null;
  spo2_hrv_deviation_from_baseline: string | null;
  altitude_m: number | null;
}

export interface DateBasedTableRows {
  sleep_stages: SleepStagesRow;
  sleep_heart_rate: SleepHeartRateRow;
  nightly_recharge: NightlyRechargeRow;
  nightly_recharge_hrv: NightlyRechargeHrvRow;
  nightly_recharge_breathing: NightlyRechargeBreathingRow;
  continuous_heart_rate: ContinuousHeartRateRow;
  cardio_load: CardioLoadRow;
  sleepwise_alertness: SleepwiseAlertnessRow;
  sleepwise_alertness_hourly: SleepwiseAlertnessHourlyRow;
  sleepwise_circadian_bedtime: SleepwiseCircadianBedtimeRow;
  body_temperature: BodyTemperatureRow;
  body_temperature_samples: BodyTemperatureSamplesRow;
  skin_temperature: SkinTemperatureRow;
  skin_contacts: SkinContactsRow;
  skin_contact_changes: SkinContactChangesRow;
  ecg: EcgRow;
  ecg_samples: EcgSamplesRow;
  spo2: Spo2Row;
  ecg_quality_measurements: EcgQualityMeasurementsRow;
}

export type DateBasedTableName = keyof DateBasedTableRows;

/** The date-based tables, in schema order (src/lake/schema.ts TABLE_NAMES appends them). */
export const DATE_BASED_TABLES: readonly DateBasedTableName[] = [
  'sleep_stages', 'sleep_heart_rate', 'nightly_recharge', 'nightly_recharge_hrv', 'nightly_recharge_breathing', 'continuous_heart_rate',
  'cardio_load', 'sleepwise_alertness', 'sleepwise_alertness_hourly', 'sleepwise_circadian_bedtime', 'body_temperature',
  'body_temperature_samples', 'skin_temperature', 'skin_contacts', 'skin_contact_changes', 'ecg', 'ecg_samples', 'spo2',
  'ecg_quality_measurements',
];

/** Each date-based table has its own record topic, `polar.<table>` (the sink maps one topic to one table). */
export const dateBasedTopic = (table: DateBasedTableName): string => `polar.${table}`;

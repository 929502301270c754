/** One fully populated row per date-based table (lake-schema.test.ts compares their keys with the schemas). */
import type { DateBasedTableRows } from '../../src/records/rows-date-based.ts';

export const DATE_BASED_FULL_ROWS: { [T in keyof DateBasedTableRows]: Required<DateBasedTableRows[T]> } = {
  sleep_stages: { user_id: 'x', time_utc_us: 1, utc_offset_min: 1, sleep_date: 'x', clock_time: 'x', stage: 1, stage_name: 'x', duration_s: 1, sentinel: true },
  sleep_heart_rate: { user_id: 'x', time_utc_us: 1, utc_offset_min: 1, sleep_date: 'x', clock_time: 'x', heart_rate_bpm: 1, sentinel: true },
  nightly_recharge: { user_id: 'x', date_start_utc_us: 1, utc_offset_min: 1, sleep_start_utc_us: 1, heart_rate_avg_bpm: 1, beat_to_beat_avg_ms: 1, heart_rate_variability_avg_ms: 1, breathing_rate_avg: 1, nightly_recharge_status: 1, ans_charge: 1, ans_charge_status: 1 },
  nightly_recharge_hrv: { user_id: 'x', time_utc_us: 1, utc_offset_min: 1, sleep_date: 'x', clock_time: 'x', hrv_ms: 1, sentinel: true },
  nightly_recharge_breathing: { user_id: 'x', time_utc_us: 1, utc_offset_min: 1, sleep_date: 'x', clock_time: 'x', breathing_rate: 1, sentinel: true },
  continuous_heart_rate: { user_id: 'x', time_utc_us: 1, utc_offset_min: 1, clock_time: 'x', heart_rate_bpm: 1, sentinel: true },
  cardio_load: { user_id: 'x', date_start_utc_us: 1, utc_offset_min: 1, cardio_load: 1, strain: 1, tolerance: 1, cardio_load_ratio: 1, cardio_load_status: 'x', level_very_low: 1, level_low: 1, level_medium: 1, level_high: 1, level_very_high: 1 },
  sleepwise_alertness: { user_id: 'x', period_start_utc_us: 1, period_end_utc_us: 1, utc_offset_min: 1, grade: 1, grade_validity_s: 1, grade_type: 'x', grade_classification: 'x', validity: 'x', sleep_inertia: 'x', sleep_type: 'x', result_type: 'x', sleep_period_start_utc_us: 1, sleep_period_end_utc_us: 1 },
  sleepwise_alertness_hourly: { user_id: 'x', start_time_utc_us: 1, end_time_utc_us: 1, utc_offset_min: 1, period_start_utc_us: 1, validity: 'x', alertness_level: 'x' },
  sleepwise_circadian_bedtime: { user_id: 'x', period_start_utc_us: 1, period_end_utc_us: 1, utc_offset_min: 1, validity: 'x', quality: 'x', result_type: 'x', preferred_sleep_period_start_utc_us: 1, preferred_sleep_period_end_utc_us: 1, sleep_gate_start_utc_us: 1, sleep_gate_end_utc_us: 1 },
  body_temperature: { user_id: 'x', start_time_utc_us: 1, end_time_utc_us: 1, modified_time_utc_us: 1, utc_offset_min: 1, source_device_id: 'x', measurement_type: 'x', sensor_location: 'x', sample_count: 1 },
  body_temperature_samples: { user_id: 'x', time_utc_us: 1, utc_offset_min: 1, period_start_utc_us: 1, source_device_id: 'x', recording_time_delta_ms: 1, temperature_c: 1, sentinel: true },
  skin_temperature: { user_id: 'x', date_start_utc_us: 1, utc_offset_min: 1, skin_temperature_c: 1, deviation_from_baseline_c: 1 },
  skin_contacts: { user_id: 'x', start_time_utc_us: 1, end_time_utc_us: 1, modified_time_utc_us: 1, utc_offset_min: 1, source_device_id: 'x', change_count: 1 },
  skin_contact_changes: { user_id: 'x', time_utc_us: 1, utc_offset_min: 1, period_start_utc_us: 1, source_device_id: 'x', recording_time_delta_ms: 1, skin_contact: true },
  ecg: { user_id: 'x', test_time_utc_us: 1, utc_offset_min: 1, source_device_id: 'x', average_heart_rate_bpm: 1, heart_rate_variability_ms: 1, heart_rate_variability_level: 'x', rri_ms: 1, pulse_transit_time_systolic_ms: 1, pulse_transit_time_diastolic_ms: 1, pulse_transit_time_quality_index: 1, sample_count: 1 },
  ecg_samples: { user_id: 'x', time_utc_us: 1, utc_offset_min: 1, test_time_utc_us: 1, recording_time_delta_ms: 1, amplitude_mv: 1, sentinel: true },
  ecg_quality_measurements: { user_id: 'x', time_utc_us: 1, utc_offset_min: 1, test_time_utc_us: 1, recording_time_delta_ms: 1, quality_level: 'x' },
  spo2: { user_id: 'x', test_time_utc_us: 1, utc_offset_min: 1, source_device_id: 'x', test_status: 'x', blood_oxygen_percent: 1, spo2_class: 'x', spo2_value_deviation_from_baseline: 'x', spo2_quality_average_percent: 1, average_heart_rate_bpm: 1, heart_rate_variability_ms: 1, spo2_hrv_deviation_from_baseline: 'x', altitude_m: 1 },
};

/**
 * Elixir biosensing (`GET /v3/users/biosensing/{bodytemperature|skintemperature|skincontacts|ecg|spo2}`).
 *
 * Periods (body temperature, skin contacts) have `start_time` and samples or changes at
 * `recording_time_delta_milliseconds` from it; a start with an offset is read with it, one
 * without is read as UTC with a null offset. ECG and SpO2 tests have `test_time` in epoch
 * seconds and `time_zone_offset` in minutes; an ECG's `quality_measurements` (signal quality
 * from `recording_time_delta_ms` on) go to their own long table, keyed like its samples. A day
 * may hold several periods or tests: the
 * sweep stores a day's items together, as an array.
 */
import { DailyPayloadError, dateTimeAt, dateMidnightUtcMs, datePart, int, num, readDateTime, snakeKeys, str } from '../parse/json-payload.ts';
import type {
  BodyTemperatureRow, BodyTemperatureSamplesRow, EcgQualityMeasurementsRow, EcgRow, EcgSamplesRow, SkinContactChangesRow, SkinContactsRow, SkinTemperatureRow, Spo2Row,
} from '../records/rows-date-based.ts';
import { epochSecondsMs, localDateAt } from './clock.ts';
import { itemsOf, type DateBasedContext, type NormalisedRows } from './types.ts';

const instant = (o: Record<string, unknown>, key: string, file: string) => dateTimeAt(o[key], file, key);

/** The local date of a period's start (body temperature, skin contacts). */
export function periodDate(item: Record<string, unknown>): string | null {
  const t = readDateTime(item['start_time']);
  return t ? localDateAt(t.utcUs / 1000, t.offsetMin) : null;
}

/** The local date of an ECG or SpO2 test. */
export function testDate(item: Record<string, unknown>): string | null {
  const ms = epochSecondsMs(item['test_time']);
  return ms === null ? null : localDateAt(ms, int(item['time_zone_offset']));
}

export function skinTemperatureDate(item: Record<string, unknown>): string | null {
  return datePart(item['sleep_date']);
}

function deltas(list: unknown, file: string, field: string): Record<string, unknown>[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new DailyPayloadError('expected an array', file, field);
  return itemsOf(list);
}

function deltaMs(o: Record<string, unknown>, key: string, file: string, field: string): number {
  const d = num(o[key]);
  if (d === null || d < 0) throw new DailyPayloadError(`${key} missing or negative`, file, field);
  return d;
}

function periodStart(o: Record<string, unknown>, file: string): { utcUs: number; offsetMin: number | null } {
  const start = instant(o, 'start_time', file);
  if (!start) throw new DailyPayloadError('no start_time', file, 'start_time');
  return start;
}

export function normaliseBodyTemperature(json: unknown, ctx: DateBasedContext): NormalisedRows {
  const periods: BodyTemperatureRow[] = [];
  const samples: BodyTemperatureSamplesRow[] = [];
  for (const item of itemsOf(json)) {
    const o = snakeKeys(item, ctx.file);
    const start = periodStart(o, ctx.file);
    const device = str(o['source_device_id']);
    const list = deltas(o['samples'], ctx.file, 'samples');
    periods.push({
      user_id: ctx.userId, start_time_utc_us: start.utcUs, end_time_utc_us: instant(o, 'end_time', ctx.file)?.utcUs ?? null,
      modified_time_utc_us: instant(o, 'modified_time', ctx.file)?.utcUs ?? null, utc_offset_min: start.offsetMin, source_device_id: device,
      measurement_type: str(o['measurement_type']), sensor_location: str(o['sensor_location']), sample_count: list.length,
    });
    for (const s of list) {
      const delta = deltaMs(s, 'recording_time_delta_milliseconds', ctx.file, 'samples');
      const t = num(s['temperature_celsius']);
      samples.push({
        user_id: ctx.userId, time_utc_us: start.utcUs + Math.round(delta * 1000), utc_offset_min: start.offsetMin, period_start_utc_us: start.utcUs,
        source_device_id: device, recording_time_delta_ms: Math.round(delta), temperature_c: t, sentinel: t === null,
      });
    }
  }
  return { body_temperature: periods, body_temperature_samples: samples };
}

export function normaliseSkinTemperature(json: unknown, ctx: DateBasedContext): NormalisedRows {
  const rows: SkinTemperatureRow[] = itemsOf(json).map((item) => {
    const o = snakeKeys(item, ctx.file);
    const date = skinTemperatureDate(o) ?? ctx.date ?? null;
    const midnight = dateMidnightUtcMs(date);
    if (midnight === null) throw new DailyPayloadError('no sleep_date', ctx.file, 'sleep_date');
    return {
      user_id: ctx.userId, date_start_utc_us: midnight * 1000, utc_offset_min: null,
      skin_temperature_c: num(o['sleep_time_skin_temperature_celsius']), deviation_from_baseline_c: num(o['deviation_from_baseline_celsius']),
    };
  });
  return { skin_temperature: rows };
}

export function normaliseSkinContacts(json: unknown, ctx: DateBasedContext): NormalisedRows {
  const periods: SkinContactsRow[] = [];
  const changes: SkinContactChangesRow[] = [];
  for (const item of itemsOf(json)) {
    const o = snakeKeys(item, ctx.file);
    const start = periodStart(o, ctx.file);
    const device = str(o['source_device_id']);
    const list = deltas(o['skin_contact_changes'], ctx.file, 'skin_contact_changes');
    periods.push({
      user_id: ctx.userId, start_time_utc_us: start.utcUs, end_time_utc_us: instant(o, 'end_time', ctx.file)?.utcUs ?? null,
      modified_time_utc_us: instant(o, 'modified_time', ctx.file)?.utcUs ?? null, utc_offset_min: start.offsetMin, source_device_id: device, change_count: list.length,
    });
    for (const c of list) {
      const delta = deltaMs(c, 'recording_time_delta_milliseconds', ctx.file, 'skin_contact_changes');
      const contact = c['skin_contact'];
      changes.push({
        user_id: ctx.userId, time_utc_us: start.utcUs + Math.round(delta * 1000), utc_offset_min: start.offsetMin, period_start_utc_us: start.utcUs,
        source_device_id: device, recording_time_delta_ms: Math.round(delta), skin_contact: typeof contact === 'boolean' ? contact : null,
      });
    }
  }
  return { skin_contacts: periods, skin_contact_changes: changes };
}

function testTime(o: Record<string, unknown>, file: string): { utcUs: number; offsetMin: number | null } {
  const ms = epochSecondsMs(o['test_time']);
  if (ms === null) throw new DailyPayloadError('test_time is not epoch seconds', file, 'test_time');
  return { utcUs: ms * 1000, offsetMin: int(o['time_zone_offset']) };
}

export function normaliseEcg(json: unknown, ctx: DateBasedContext): NormalisedRows {
  const tests: EcgRow[] = [];
  const samples: EcgSamplesRow[] = [];
  const quality: EcgQualityMeasurementsRow[] = [];
  for (const item of itemsOf(json)) {
    const o = snakeKeys(item, ctx.file);
    const t = testTime(o, ctx.file);
    const list = deltas(o['samples'], ctx.file, 'samples');
    tests.push({
      user_id: ctx.userId, test_time_utc_us: t.utcUs, utc_offset_min: t.offsetMin, source_device_id: str(o['source_device_id']),
      average_heart_rate_bpm: num(o['average_heart_rate_bpm']), heart_rate_variability_ms: num(o['heart_rate_variability_ms']),
      heart_rate_variability_level: str(o['heart_rate_variability_level']), rri_ms: num(o['rri_ms']),
      pulse_transit_time_systolic_ms: num(o['pulse_transit_time_systolic_ms']), pulse_transit_time_diastolic_ms: num(o['pulse_transit_time_diastolic_ms']),
      pulse_transit_time_quality_index: num(o['pulse_transit_time_quality_index']), sample_count: list.length,
    });
    for (const s of list) {
      const delta = deltaMs(s, 'recording_time_delta_ms', ctx.file, 'samples');
      const mv = num(s['amplitude_mv']);
      samples.push({
        user_id: ctx.userId, time_utc_us: t.utcUs + Math.round(delta * 1000), utc_offset_min: t.offsetMin, test_time_utc_us: t.utcUs,
        recording_time_delta_ms: delta, amplitude_mv: mv, sentinel: mv === null,
      });
    }
    for (const q of deltas(o['quality_measurements'], ctx.file, 'quality_measurements')) {
      const delta = deltaMs(q, 'recording_time_delta_ms', ctx.file, 'quality_measurements');
      quality.push({
        user_id: ctx.userId, time_utc_us: t.utcUs + Math.round(delta * 1000), utc_offset_min: t.offsetMin, test_time_utc_us: t.utcUs,
        recording_time_delta_ms: delta, quality_level: str(q['quality_level']),
      });
    }
  }
  return { ecg: tests, ecg_samples: samples, ecg_quality_measurements: quality };
}

export function normaliseSpo2(json: unknown, ctx: DateBasedContext): NormalisedRows {
  const rows: Spo2Row[] = itemsOf(json).map((item) => {
    const o = snakeKeys(item, ctx.file);
    const t = testTime(o, ctx.file);
    return {
      user_id: ctx.userId, test_time_utc_us: t.utcUs, utc_offset_min: t.offsetMin, source_device_id: str(o['source_device_id']),
      test_status: str(o['test_status']), blood_oxygen_percent: num(o['blood_oxygen_percent']), spo2_class: str(o['spo2_class']),
      spo2_value_deviation_from_baseline: str(o['spo2_value_deviation_from_baseline']), spo2_quality_average_percent: num(o['spo2_quality_average_percent']),
      average_heart_rate_bpm: num(o['average_heart_rate_bpm']), heart_rate_variability_ms: num(o['heart_rate_variability_ms']),
      spo2_hrv_deviation_from_baseline: str(o['spo2_hrv_deviation_from_baseline']), altitude_m: num(o['altitude_meters']),
    };
  });
  return { spo2: rows };
}

/**
 * Simulated night, heart and biosensing data (AccessLink section 7), one user and local date
 * at a time, derived from the same account, offset and night as ./daily.ts so the types agree
 * with each other (Nightly Recharge samples start 30 min into that date's sleep, SleepWise
 * alertness begins at its wake-up, body temperature covers it).
 *
 * Deterministic from the seed; `DailyData.resync(user, kind, date)` bumps a day's version and
 * changes its values, as a later sync does at Polar. Shapes follow the reference: snake_case,
 * `"HH:MM"` maps in local wall-clock time, SleepWise times UTC without a `Z`, ECG/SpO2
 * `test_time` in epoch seconds with `time_zone_offset` in minutes, cardio load's `very-high`.
 */
import { clockKey, type DailyAccount, type DailyData, type DailyPayload } from './daily.ts';
import { between, deriveSeed, intBetween, mulberry32, type Rng } from './random.ts';

export type DateBasedPayload = Exclude<DailyPayload, 'activity' | 'sleep'>;

const DAY_MS = 86_400_000;
const TAGS: Record<DateBasedPayload, number> = {
  nightly_recharge: 0x4ec, continuous_heart_rate: 0xc4, cardio_load: 0xca4d, sleepwise_alertness: 0xa1e, sleepwise_circadian_bedtime: 0xbed,
  body_temperature: 0xb0d, skin_temperature: 0x5c1, skin_contacts: 0x5cc, ecg: 0xec9, spo2: 0x502,
};

/** `YYYY-MM-DDTHH:MM:SS` of a UTC instant, without a zone (SleepWise's "UTC without Z"). */
const utcNoZ = (ms: number) => new Date(ms).toISOString().slice(0, 19);

/** `YYYY-MM-DDTHH:MM:SS.sss+HH:MM` of an instant at an offset. */
function withOffset(ms: number, offsetMin: number): string {
  const wall = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 23);
  const abs = Math.abs(offsetMin);
  return `${wall}${offsetMin < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Rounded, and never -0 (JSON has no negative zero: a served value must equal its ground truth). */
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits + 0;

export class DateBasedData {
  constructor(
    private readonly seed: number,
    private readonly daily: DailyData,
  ) {}

  private rng(account: DailyAccount, kind: DateBasedPayload, date: string): { rng: Rng; v: number } {
    const v = this.daily.version(account.polarUserId, kind, date);
    return { rng: mulberry32(deriveSeed(this.seed, TAGS[kind], account.index, Date.parse(`${date}T00:00:00Z`) / DAY_MS, v)), v };
  }

  /** The items a date holds for a type ([] when none), as the list endpoints serve them. */
  items(account: DailyAccount, kind: DateBasedPayload, date: string): Record<string, unknown>[] {
    if (!this.daily.has(account, date)) return [];
    switch (kind) {
      case 'nightly_recharge': return [this.nightlyRecharge(account, date)];
      case 'continuous_heart_rate': return [this.continuousHeartRate(account, date)];
      case 'cardio_load': return [this.cardioLoad(account, date)];
      case 'sleepwise_alertness': return this.alertness(account, date);
      case 'sleepwise_circadian_bedtime': return this.circadianBedtime(account, date);
      case 'body_temperature': return [this.bodyTemperature(account, date)];
      case 'skin_temperature': return [{ sleep_date: date, ...this.skinTemperature(account, date) }];
      case 'skin_contacts': return [this.skinContacts(account, date)];
      case 'ecg': return this.ecg(account, date);
      case 'spo2': return this.spo2(account, date);
    }
  }

  private nightlyRecharge(account: DailyAccount, date: string): Record<string, unknown> {
    const { rng, v } = this.rng(account, 'nightly_recharge', date);
    const night = this.daily.night(account, date);
    const hrv: Record<string, number> = {};
    const breathing: Record<string, number> = {};
    // 5-minute averages over the 4 hours from 30 min after falling asleep; now and then a 0 (no reading).
    for (let t = 1800; t < 1800 + 4 * 3600; t += 300) {
      const key = clockKey(night.startS + t);
      hrv[key] = rng() < 0.04 ? 0 : round(between(rng, 25, 75) + v, 1);
      breathing[key] = round(between(rng, 12, 17), 1);
    }
    const hrvValues = Object.values(hrv).filter((x) => x > 0);
    return {
      polar_user: `https://www.polaraccesslink.com/v3/users/${account.polarUserId}`,
      date,
      heart_rate_avg: intBetween(rng, 48, 64),
      beat_to_beat_avg: intBetween(rng, 900, 1200),
      heart_rate_variability_avg: Math.round(hrvValues.reduce((a, b) => a + b, 0) / Math.max(1, hrvValues.length)),
      breathing_rate_avg: round(between(rng, 12, 17), 1),
      nightly_recharge_status: intBetween(rng, 1, 6),
      ans_charge: round(between(rng, -10, 10), 1),
      ans_charge_status: intBetween(rng, 1, 5),
      hrv_samples: hrv,
      breathing_samples: breathing,
    };
  }

  /**
   * Every 5 min of the local day; the device was off for an hour, and a 0 now and then. A day
   * is whole from its first upload (a later sync is `resync`): the data never depend on the
   * wall clock, so tests do not either.
   */
  private continuousHeartRate(account: DailyAccount, date: string): Record<string, unknown> {
    const { rng } = this.rng(account, 'continuous_heart_rate', date);
    const night = this.daily.night(account, date);
    const offS = intBetween(rng, 10, 20) * 3600;
    const samples: { heart_rate: number; sample_time: string }[] = [];
    for (let s = 0; s < 86_400; s += 300) {
      if (s >= offS && s < offS + 3600) continue;
      const asleep = s < night.endS;
      const bpm = Math.round((asleep ? 55 : 72) + between(rng, -6, 18));
      const hh = String(Math.floor(s / 3600)).padStart(2, '0');
      const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
      samples.push({ heart_rate: rng() < 0.01 ? 0 : bpm, sample_time: `${hh}:${mm}:00` });
    }
    return { polar_user: `https://www.polaraccesslink.com/v3/users/${account.polarUserId}`, date, heart_rate_samples: samples };
  }

  cardioLoad(account: DailyAccount, date: string): Record<string, unknown> {
    const { rng } = this.rng(account, 'cardio_load', date);
    const load = round(between(rng, 0, 180), 1);
    const strain = round(between(rng, 20, 90), 1);
    const tolerance = round(between(rng, 30, 80), 1);
    const statuses = ['MAINTAINING', 'PRODUCTIVE', 'DETRAINING', 'OVERREACHING', 'PRODUCTIVE_ALMOST_OVERREACHING'];
    return {
      date, cardio_load_status: statuses[intBetween(rng, 0, statuses.length - 1)], cardio_load_ratio: round(strain / tolerance, 2),
      cardio_load: load, strain, tolerance,
      cardio_load_level: { very_low: round(tolerance * 0.3, 1), low: round(tolerance * 0.6, 1), medium: round(tolerance * 1.0, 1), high: round(tolerance * 1.4, 1), 'very-high': round(tolerance * 1.8, 1) },
    };
  }

  /** What `/cardio-load/date?from=&to=` gives for a day without a value. */
  static cardioLoadNotAvailable(date: string): Record<string, unknown> {
    return { date, cardio_load_status: 'LOAD_STATUS_NOT_AVAILABLE', cardio_load: -1, strain: -1, tolerance: -1, cardio_load_ratio: -1, cardio_load_level: { very_low: -1, low: -1, medium: -1, high: -1, 'very-high': -1 } };
  }

  /** One alertness period from the wake-up of the night ending on `date` to its next bedtime, with hourly data. */
  private alertness(account: DailyAccount, date: string): Record<string, unknown>[] {
    const { rng } = this.rng(account, 'sleepwise_alertness', date);
    const night = this.daily.night(account, date);
    const start = night.endUtcMs;
    const end = start + 16 * 3600_000;
    const levels = ['ALERTNESS_LEVEL_LOW', 'ALERTNESS_LEVEL_MEDIUM', 'ALERTNESS_LEVEL_HIGH'];
    const hourly = Array.from({ length: 16 }, (_, h) => ({
      validity: 'VALIDITY_ESTIMATE', alertness_level: levels[intBetween(rng, 0, 2)], start_time: utcNoZ(start + h * 3600_000), end_time: utcNoZ(start + (h + 1) * 3600_000),
    }));
    return [{
      grade: round(between(rng, 1, 10), 1), grade_validity_seconds: 57_600, grade_type: 'GRADE_TYPE_PRIMARY', grade_classification: 'GRADE_CLASSIFICATION_STRONG',
      validity: 'VALIDITY_ESTIMATE', sleep_inertia: 'SLEEP_INERTIA_MILD', sleep_type: 'SLEEP_TYPE_PRIMARY', result_type: 'ALERTNESS_TYPE_HISTORY',
      period_start_time: utcNoZ(start), period_end_time: utcNoZ(end), sleep_period_start_time: utcNoZ(night.startUtcMs), sleep_period_end_time: utcNoZ(night.endUtcMs),
      sleep_timezone_offset_minutes: night.offsetMin, hourly_data: hourly,
    }];
  }

  /** The circadian bedtime for the evening of `date`. */
  private circadianBedtime(account: DailyAccount, date: string): Record<string, unknown>[] {
    const { rng } = this.rng(account, 'sleepwise_circadian_bedtime', date);
    const night = this.daily.night(account, date);
    const evening = night.endUtcMs + 12 * 3600_000; // mid-evening local
    const gate = evening + intBetween(rng, 2, 4) * 3600_000;
    return [{
      validity: 'VALIDITY_ESTIMATE', quality: 'CIRCADIAN_BEDTIME_QUALITY_COMPROMISED', result_type: 'CIRCADIAN_BEDTIME_TYPE_PREDICTION',
      period_start_time: utcNoZ(evening), period_end_time: utcNoZ(evening + DAY_MS),
      preferred_sleep_period_start_time: utcNoZ(gate), preferred_sleep_period_end_time: utcNoZ(gate + 8 * 3600_000),
      sleep_gate_start_time: utcNoZ(gate - 900_000), sleep_gate_end_time: utcNoZ(gate + 900_000), sleep_timezone_offset_minutes: night.offsetMin,
    }];
  }

  /** Distal skin temperature through the night, one sample a minute (null now and then: no skin contact). */
  private bodyTemperature(account: DailyAccount, date: string): Record<string, unknown> {
    const { rng } = this.rng(account, 'body_temperature', date);
    const night = this.daily.night(account, date);
    const minutes = Math.floor((night.endUtcMs - night.startUtcMs) / 60_000);
    const samples = Array.from({ length: minutes }, (_, i) => ({
      temperature_celsius: rng() < 0.01 ? null : round(33.5 + Math.sin((Math.PI * i) / minutes) + between(rng, -0.2, 0.2), 2), recording_time_delta_milliseconds: i * 60_000,
    }));
    return {
      source_device_id: (0x66a98000 + account.index).toString(16).toUpperCase(), measurement_type: 'TM_SKIN_TEMPERATURE', sensor_location: 'SL_DISTAL',
      start_time: withOffset(night.startUtcMs, night.offsetMin), end_time: withOffset(night.endUtcMs, night.offsetMin),
      modified_time: withOffset(night.endUtcMs + 600_000, night.offsetMin), samples,
    };
  }

  private skinTemperature(account: DailyAccount, date: string): Record<string, unknown> {
    const { rng } = this.rng(account, 'skin_temperature', date);
    return { sleep_time_skin_temperature_celsius: round(between(rng, 33, 35), 2), deviation_from_baseline_celsius: round(between(rng, -0.8, 0.8), 2) };
  }

  private skinContacts(account: DailyAccount, date: string): Record<string, unknown> {
    const { rng } = this.rng(account, 'skin_contacts', date);
    const night = this.daily.night(account, date);
    const start = night.endUtcMs - 8 * 3600_000;
    const changes = [{ skin_contact: true, recording_time_delta_milliseconds: 0 }];
    for (let i = 0, t = 0; i < intBetween(rng, 1, 3); i++) {
      t += intBetween(rng, 600, 7200) * 1000;
      changes.push({ skin_contact: i % 2 === 1, recording_time_delta_milliseconds: t });
    }
    return {
      source_device_id: (0x66a98000 + account.index).toString(16).toUpperCase(), start_time: withOffset(start, night.offsetMin),
      end_time: withOffset(start + DAY_MS, night.offsetMin), modified_time: withOffset(start + DAY_MS, night.offsetMin), skin_contact_changes: changes,
    };
  }

  /** A wrist ECG test on about one day in three: 30 s at 130 Hz, mid-morning local. */
  private ecg(account: DailyAccount, date: string): Record<string, unknown>[] {
    const { rng } = this.rng(account, 'ecg', date);
    if (rng() >= 0.34) return [];
    const night = this.daily.night(account, date);
    const testMs = night.endUtcMs + intBetween(rng, 1, 4) * 3600_000;
    const samples = Array.from({ length: 30 * 130 }, (_, i) => {
      const phase = (i % 130) / 130;
      return { recording_time_delta_ms: round((i * 1000) / 130, 3), amplitude_mv: round((phase < 0.05 ? 1.2 : 0.05 * Math.sin(2 * Math.PI * phase)) + between(rng, -0.02, 0.02), 3) };
    });
    return [{
      source_device_id: (0x66a98000 + account.index).toString(16).toUpperCase(), test_time: Math.floor(testMs / 1000), time_zone_offset: night.offsetMin,
      average_heart_rate_bpm: intBetween(rng, 55, 80), heart_rate_variability_ms: round(between(rng, 20, 80), 1), heart_rate_variability_level: 'HRV_LEVEL_NORMAL',
      rri_ms: intBetween(rng, 750, 1100), pulse_transit_time_systolic_ms: intBetween(rng, 180, 260), pulse_transit_time_diastolic_ms: intBetween(rng, 220, 300),
      pulse_transit_time_quality_index: round(between(rng, 0.5, 1), 2), samples,
      quality_measurements: this.ecgQuality(rng),
    }];
  }

  /** The test's signal quality: graded from its start, then again whenever it changes (drawn last, so the other fields keep their draws). */
  private ecgQuality(rng: Rng): { recording_time_delta_ms: number; quality_level: string }[] {
    const levels = ['ECG_QUALITY_HIGH', 'ECG_QUALITY_MEDIUM', 'ECG_QUALITY_LOW'];
    const out = [{ recording_time_delta_ms: 0, quality_level: levels[intBetween(rng, 0, 1)]! }];
    for (let t = intBetween(rng, 3, 12) * 1000; t < 30_000; t += intBetween(rng, 4, 15) * 1000) out.push({ recording_time_delta_ms: t, quality_level: levels[intBetween(rng, 0, 2)]! });
    return out;
  }

  /** An SpO2 test on about one day in two, in the evening local. */
  private spo2(account: DailyAccount, date: string): Record<string, unknown>[] {
    const { rng } = this.rng(account, 'spo2', date);
    if (rng() >= 0.5) return [];
    const night = this.daily.night(account, date);
    const testMs = night.endUtcMs + intBetween(rng, 10, 14) * 3600_000;
    return [{
      source_device_id: (0x66a98000 + account.index).toString(16).toUpperCase(), test_time: Math.floor(testMs / 1000), time_zone_offset: night.offsetMin,
      test_status: 'TEST_PASSED', blood_oxygen_percent: intBetween(rng, 94, 99), spo2_class: 'SPO2_CLASS_NORMAL', spo2_value_deviation_from_baseline: 'DEVIATION_NO_BASELINE',
      spo2_quality_average_percent: round(between(rng, 70, 99), 1), average_heart_rate_bpm: intBetween(rng, 55, 80), heart_rate_variability_ms: round(between(rng, 20, 80), 1),
      spo2_hrv_deviation_from_baseline: 'DEVIATION_NO_BASELINE', altitude_meters: round(between(rng, 0, 400), 1),
    }];
  }
}

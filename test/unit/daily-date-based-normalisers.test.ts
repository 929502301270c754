import { describe, expect, it } from 'vitest';
import { DATE_BASED_ENDPOINTS, dateBasedEndpoint } from '../../src/daily/endpoints.ts';
import { DailyPayloadError } from '../../src/parse/json-payload.ts';
import { DAILY_KINDS, type DailyKind } from '../../src/records/envelope.ts';
import { fieldColumns, loadTableSchema } from '../../src/lake/schema.ts';
import { checkValue } from '../../src/stages/sink.ts';
import type { NormalisedRows } from '../../src/daily/types.ts';

const ctx = (kind: DailyKind, date: string | null = null, readDaily?: (k: DailyKind, d: string) => Promise<unknown | null>) => ({
  userId: '475', file: `raw/daily/${kind}/user_id=475/date=${date ?? 'x'}/${kind}.json.gz`, date, ...(readDaily ? { readDaily } : {}),
});
const iso = (us: number) => new Date(us / 1000).toISOString();
const normalise = async (kind: DailyKind, json: unknown, date: string | null = null, readDaily?: (k: DailyKind, d: string) => Promise<unknown | null>) =>
  dateBasedEndpoint(kind).normalise(json, ctx(kind, date, readDaily));

/** Every row fits its table's schema exactly (the columns the sink writes and nothing else). */
function expectRowsFitSchemas(rows: NormalisedRows): void {
  for (const [table, list] of Object.entries(rows)) {
    const schema = loadTableSchema(table as keyof NormalisedRows);
    for (const row of list as unknown as Record<string, unknown>[]) {
      expect(Object.keys(row).sort()).toEqual(fieldColumns(schema).map((c) => c.field).sort());
      for (const c of fieldColumns(schema)) expect(checkValue(c, row[c.field!]), `${table}.${c.name}`).toBeUndefined();
    }
  }
}

const NIGHT = {
  polar_user: 'https://www.polaraccesslink.com/v3/users/475', date: '2026-01-15', device_id: 'A1', sleep_start_time: '2026-01-14T23:40:10+02:00',
  sleep_end_time: '2026-01-15T06:50:00+02:00', light_sleep: 12000, deep_sleep: 5000, rem_sleep: 6000, sleep_score: 80,
  // Sorted as text, as a JSON map may come: the keys after midnight first.
  hypnogram: { '00:20': 4, '03:10': 1, '06:40': 0, '23:40': 3 },
  heart_rate_samples: { '00:00': 56, '03:00': 0, '06:45': null, '23:45': 58 },
};

describe('daily > date-based normalisers', () => {
  it('daily > date-based normalisers > every kind has an endpoint whose tables have schemas', () => {
    expect(DATE_BASED_ENDPOINTS.map((e) => e.kind).sort()).toEqual([...DAILY_KINDS].sort());
    for (const e of DATE_BASED_ENDPOINTS) for (const t of e.tables) expect(loadTableSchema(t).name).toBe(t);
  });

  it('daily > date-based normalisers > sleep: hypnogram and heart rate as long tables, rolled across midnight, stage durations, 0/null sentinels', async () => {
    const rows = await normalise('sleep', NIGHT);
    expectRowsFitSchemas(rows);
    expect(rows.sleep).toHaveLength(1);
    expect(rows.sleep_stages!.map((r) => [r.clock_time, iso(r.time_utc_us), r.stage_name, r.duration_s])).toEqual([
      ['23:40', '2026-01-14T21:40:00.000Z', 'light_non_rem', 40 * 60],
      ['00:20', '2026-01-14T22:20:00.000Z', 'deep_non_rem', (2 * 60 + 50) * 60],
      ['03:10', '2026-01-15T01:10:00.000Z', 'rem', (3 * 60 + 30) * 60],
      ['06:40', '2026-01-15T04:40:00.000Z', 'wake', 10 * 60], // until sleep_end_time
    ]);
    expect(rows.sleep_stages!.every((r) => r.sleep_date === '2026-01-15' && r.utc_offset_min === 120 && !r.sentinel)).toBe(true);
    expect(rows.sleep_heart_rate!.map((r) => [r.clock_time, iso(r.time_utc_us), r.heart_rate_bpm, r.sentinel])).toEqual([
      ['23:45', '2026-01-14T21:45:00.000Z', 58, false],
      ['00:00', '2026-01-14T22:00:00.000Z', 56, false],
      ['03:00', '2026-01-15T01:00:00.000Z', null, true],
      ['06:45', '2026-01-15T04:45:00.000Z', null, true],
    ]);
  });

  it('daily > date-based normalisers > sleep: an unknown stage code is a sentinel row; a bad key is a typed error naming the field', async () => {
    const rows = await normalise('sleep', { ...NIGHT, hypnogram: { '23:40': 9 }, heart_rate_samples: {} });
    expect(rows.sleep_stages![0]).toMatchObject({ stage: null, stage_name: null, sentinel: true });
    const bad = await normalise('sleep', { ...NIGHT, hypnogram: { '25:99': 1 } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(DailyPayloadError);
    expect(bad).toMatchObject({ code: 'PL_DAILY_INVALID', field: 'hypnogram' });
    const noStart = await normalise('sleep', { date: '2026-01-15', hypnogram: { '01:00': 2 } }).catch((e: unknown) => e);
    expect(noStart).toMatchObject({ code: 'PL_DAILY_INVALID', field: 'sleep_start_time' });
  });

  it('daily > date-based normalisers > nightly recharge: wide row; HRV and breathing anchored on the night\'s sleep start, or on noon without it', async () => {
    const recharge = {
      polar_user: 'x', date: '2026-01-15', heart_rate_avg: 55, beat_to_beat_avg: 1080, heart_rate_variability_avg: 44, breathing_rate_avg: 14.2,
      nightly_recharge_status: 4, ans_charge: 3.5, ans_charge_status: 4,
      hrv_samples: { '00:10': 40, '00:15': 0, '23:55': 41 }, breathing_samples: { '00:10': 14.5, '23:55': 14.1 },
    };
    const withSleep = await normalise('nightly_recharge', recharge, '2026-01-15', async (kind, date) => (kind === 'sleep' && date === '2026-01-15' ? NIGHT : null));
    expectRowsFitSchemas(withSleep);
    expect(withSleep.nightly_recharge![0]).toMatchObject({ utc_offset_min: 120, heart_rate_variability_avg_ms: 44, breathing_rate_avg: 14.2, ans_charge: 3.5, nightly_recharge_status: 4 });
    expect(iso(withSleep.nightly_recharge![0]!.sleep_start_utc_us!)).toBe('2026-01-14T21:40:10.000Z');
    expect(iso(withSleep.nightly_recharge![0]!.date_start_utc_us)).toBe('2026-01-14T22:00:00.000Z'); // local midnight of the 15th at +02:00
    expect(withSleep.nightly_recharge_hrv!.map((r) => [iso(r.time_utc_us), r.hrv_ms, r.sentinel, r.utc_offset_min])).toEqual([
      ['2026-01-14T21:55:00.000Z', 41, false, 120],
      ['2026-01-14T22:10:00.000Z', 40, false, 120],
      ['2026-01-14T22:15:00.000Z', null, true, 120],
    ]);
    expect(withSleep.nightly_recharge_breathing!.map((r) => r.breathing_rate)).toEqual([14.1, 14.5]);

    const alone = await normalise('nightly_recharge', recharge, '2026-01-15', async () => null);
    expect(alone.nightly_recharge![0]).toMatchObject({ utc_offset_min: null, sleep_start_utc_us: null });
    expect(alone.nightly_recharge_hrv!.map((r) => [iso(r.time_utc_us), r.utc_offset_min])).toEqual([
      ['2026-01-14T23:55:00.000Z', null], ['2026-01-15T00:10:00.000Z', null], ['2026-01-15T00:15:00.000Z', null],
    ]);
  });

  it('daily > date-based normalisers > continuous heart rate: both range shapes split into days; samples long, wall time with a null offset, 0 a sentinel', async () => {
    const e = dateBasedEndpoint('continuous_heart_rate');
    const day = (date: string) => ({ polar_user: 'x', date, heart_rate_samples: [{ heart_rate: 61, sample_time: '00:05:00' }, { heart_rate: 0, sample_time: '00:10:00' }, { heart_rate: 70, sample_time: '23:55:00' }] });
    expect(e.items(day('2026-01-15')).map((d) => e.dateOf(d as Record<string, unknown>))).toEqual(['2026-01-15']);
    const many = e.items({ heart_rates: [day('2026-01-14'), day('2026-01-15')] });
    expect(many.map((d) => e.dateOf(d as Record<string, unknown>))).toEqual(['2026-01-14', '2026-01-15']);
    const rows = await normalise('continuous_heart_rate', many[1]);
    expectRowsFitSchemas(rows);
    expect(rows.continuous_heart_rate!.map((r) => [iso(r.time_utc_us), r.utc_offset_min, r.heart_rate_bpm, r.sentinel])).toEqual([
      ['2026-01-15T00:05:00.000Z', null, 61, false], ['2026-01-15T00:10:00.000Z', null, null, true], ['2026-01-15T23:55:00.000Z', null, 70, false],
    ]);
    await expect(normalise('continuous_heart_rate', { date: '2026-01-15', heart_rate_samples: [{ heart_rate: 60, sample_time: '5 past' }] })).rejects.toMatchObject({ code: 'PL_DAILY_INVALID' });
  });

  it('daily > date-based normalisers > cardio load: one wide row a day with the hyphenated very-high level', async () => {
    const rows = await normalise('cardio_load', { date: '2026-01-15', cardio_load: 88.5, strain: 60, tolerance: 55, cardio_load_ratio: 1.09, cardio_load_status: 'PRODUCTIVE', cardio_load_level: { very_low: 10, low: 20, medium: 40, high: 60, 'very-high': 90 } });
    expectRowsFitSchemas(rows);
    expect(rows.cardio_load![0]).toMatchObject({ cardio_load: 88.5, cardio_load_status: 'PRODUCTIVE', level_very_low: 10, level_very_high: 90, utc_offset_min: null });
    expect(iso(rows.cardio_load![0]!.date_start_utc_us)).toBe('2026-01-15T00:00:00.000Z');
    const na = await normalise('cardio_load', { date: '2026-01-16', cardio_load_status: 'LOAD_STATUS_NOT_AVAILABLE' });
    expect(na.cardio_load![0]).toMatchObject({ cardio_load: null, cardio_load_status: 'LOAD_STATUS_NOT_AVAILABLE' });
  });

  it('daily > date-based normalisers > SleepWise: times are UTC without a Z (never local), the offset is sleep_timezone_offset_minutes', async () => {
    const e = dateBasedEndpoint('sleepwise_alertness');
    const period = {
      grade: 7.5, grade_validity_seconds: 57600, grade_type: 'GRADE_TYPE_PRIMARY', validity: 'VALIDITY_ESTIMATE', result_type: 'ALERTNESS_TYPE_HISTORY',
      period_start_time: '2026-01-14T22:30:00', period_end_time: '2026-01-15T14:30:00', sleep_period_start_time: '2026-01-14T15:00:00', sleep_period_end_time: '2026-01-14T22:30:00',
      sleep_timezone_offset_minutes: 600, hourly_data: [{ validity: 'VALIDITY_ESTIMATE', alertness_level: 'ALERTNESS_LEVEL_HIGH', start_time: '2026-01-14T22:30:00', end_time: '2026-01-14T23:30:00' }],
    };
    // 22:30 UTC is 08:30 on the 15th in Sydney (+10:00): the period is the 15th's.
    expect(e.dateOf(period)).toBe('2026-01-15');
    const rows = await normalise('sleepwise_alertness', [period]);
    expectRowsFitSchemas(rows);
    expect(iso(rows.sleepwise_alertness![0]!.period_start_utc_us)).toBe('2026-01-14T22:30:00.000Z');
    expect(rows.sleepwise_alertness![0]).toMatchObject({ utc_offset_min: 600, grade: 7.5, grade_validity_s: 57600 });
    expect(rows.sleepwise_alertness_hourly!.map((h) => [iso(h.start_time_utc_us), iso(h.end_time_utc_us!), h.alertness_level, h.period_start_utc_us])).toEqual([
      ['2026-01-14T22:30:00.000Z', '2026-01-14T23:30:00.000Z', 'ALERTNESS_LEVEL_HIGH', rows.sleepwise_alertness![0]!.period_start_utc_us],
    ]);
    // West of UTC: 03:00 UTC on the 15th is the evening of the 14th in Los Angeles.
    const bedtime = { validity: 'VALIDITY_ESTIMATE', quality: 'Q', result_type: 'R', period_start_time: '2026-01-15T03:00:00', period_end_time: '2026-01-16T03:00:00', sleep_gate_start_time: '2026-01-15T06:45:00', sleep_gate_end_time: '2026-01-15T07:15:00', sleep_timezone_offset_minutes: -480 };
    expect(dateBasedEndpoint('sleepwise_circadian_bedtime').dateOf(bedtime)).toBe('2026-01-14');
    const cb = await normalise('sleepwise_circadian_bedtime', [bedtime]);
    expectRowsFitSchemas(cb);
    expect(cb.sleepwise_circadian_bedtime![0]).toMatchObject({ utc_offset_min: -480, preferred_sleep_period_start_utc_us: null });
    expect(iso(cb.sleepwise_circadian_bedtime![0]!.sleep_gate_start_utc_us!)).toBe('2026-01-15T06:45:00.000Z');
    // An explicit Z or offset is honoured too.
    const z = await normalise('sleepwise_circadian_bedtime', [{ ...bedtime, period_start_time: '2026-01-15T05:00:00+02:00' }]);
    expect(iso(z.sleepwise_circadian_bedtime![0]!.period_start_utc_us)).toBe('2026-01-15T03:00:00.000Z');
    await expect(normalise('sleepwise_alertness', [{ ...period, period_start_time: 'yesterday' }])).rejects.toMatchObject({ code: 'PL_DAILY_INVALID', field: 'period_start_time' });
  });

  it('daily > date-based normalisers > body temperature and skin contacts: periods wide, samples and changes long at start + delta', async () => {
    const period = {
      source_device_id: 'D1', measurement_type: 'TM_SKIN_TEMPERATURE', sensor_location: 'SL_DISTAL', start_time: '2026-01-14T23:00:00.000+02:00', end_time: '2026-01-15T07:00:00.000+02:00',
      modified_time: '2026-01-15T07:10:00.000+02:00', samples: [{ temperature_celsius: 33.4, recording_time_delta_milliseconds: 0 }, { temperature_celsius: null, recording_time_delta_milliseconds: 60000 }],
    };
    expect(dateBasedEndpoint('body_temperature').dateOf(period)).toBe('2026-01-14');
    const bt = await normalise('body_temperature', [period, { ...period, start_time: '2026-01-14T13:00:00.000+02:00', samples: [] }]);
    expectRowsFitSchemas(bt);
    expect(bt.body_temperature!.map((p) => p.sample_count)).toEqual([2, 0]);
    expect(bt.body_temperature_samples!.map((s) => [iso(s.time_utc_us), s.temperature_c, s.sentinel, s.utc_offset_min])).toEqual([
      ['2026-01-14T21:00:00.000Z', 33.4, false, 120], ['2026-01-14T21:01:00.000Z', null, true, 120],
    ]);
    // No zone on the start: read as UTC, offset null.
    const noZone = await normalise('body_temperature', [{ ...period, start_time: '2026-01-14T23:00:00' }]);
    expect(noZone.body_temperature![0]).toMatchObject({ utc_offset_min: null });
    expect(iso(noZone.body_temperature![0]!.start_time_utc_us)).toBe('2026-01-14T23:00:00.000Z');

    const sc = await normalise('skin_contacts', [{ source_device_id: 'D1', start_time: '2026-01-15T08:00:00-05:00', end_time: '2026-01-16T08:00:00-05:00', skin_contact_changes: [{ skin_contact: true, recording_time_delta_milliseconds: 0 }, { skin_contact: false, recording_time_delta_milliseconds: 3_600_000 }] }]);
    expectRowsFitSchemas(sc);
    expect(sc.skin_contacts![0]).toMatchObject({ change_count: 2, utc_offset_min: -300 });
    expect(sc.skin_contact_changes!.map((c) => [iso(c.time_utc_us), c.skin_contact])).toEqual([['2026-01-15T13:00:00.000Z', true], ['2026-01-15T14:00:00.000Z', false]]);
    await expect(normalise('skin_contacts', [{ start_time: '2026-01-15T08:00:00Z', skin_contact_changes: [{ skin_contact: true }] }])).rejects.toMatchObject({ field: 'skin_contact_changes' });
  });

  it('daily > date-based normalisers > skin temperature keyed by sleep_date', async () => {
    const e = dateBasedEndpoint('skin_temperature');
    const night = { sleep_time_skin_temperature_celsius: 34.1, deviation_from_baseline_celsius: -0.3, sleep_date: '2026-01-15' };
    expect(e.dateOf(night)).toBe('2026-01-15');
    const rows = await normalise('skin_temperature', night);
    expectRowsFitSchemas(rows);
    expect(rows.skin_temperature![0]).toMatchObject({ skin_temperature_c: 34.1, deviation_from_baseline_c: -0.3 });
  });

  it('daily > date-based normalisers > ECG and SpO2: test_time epoch seconds + time_zone_offset; the local date east and west of UTC', async () => {
    const testTime = Date.parse('2026-01-14T23:30:00Z') / 1000;
    const ecg = {
      source_device_id: 'D1', test_time: testTime, time_zone_offset: 120, average_heart_rate_bpm: 62, rri_ms: 960, samples: [{ recording_time_delta_ms: 0, amplitude_mv: 0.1 }, { recording_time_delta_ms: 7.692, amplitude_mv: null }],
      quality_measurements: [{ recording_time_delta_ms: 0, quality_level: 'ECG_QUALITY_HIGH' }, { recording_time_delta_ms: 12500, quality_level: 'ECG_QUALITY_LOW' }, { recording_time_delta_ms: 20000 }],
    };
    expect(dateBasedEndpoint('ecg').dateOf(ecg)).toBe('2026-01-15');
    expect(dateBasedEndpoint('ecg').dateOf({ ...ecg, time_zone_offset: -300 })).toBe('2026-01-14');
    const rows = await normalise('ecg', [ecg]);
    expectRowsFitSchemas(rows);
    expect(rows.ecg![0]).toMatchObject({ utc_offset_min: 120, sample_count: 2, rri_ms: 960 });
    expect(iso(rows.ecg![0]!.test_time_utc_us)).toBe('2026-01-14T23:30:00.000Z');
    expect(rows.ecg_samples!.map((s) => [s.time_utc_us - rows.ecg![0]!.test_time_utc_us, s.amplitude_mv, s.sentinel])).toEqual([[0, 0.1, false], [7692, null, true]]);
    // quality_measurements: one row each, keyed like the samples (the test's instant + delta); a level missing is null.
    expect(rows.ecg_quality_measurements!.map((q) => [q.test_time_utc_us, q.time_utc_us - q.test_time_utc_us, q.recording_time_delta_ms, q.quality_level, q.utc_offset_min]))
      .toEqual([[testTime * 1e6, 0, 0, 'ECG_QUALITY_HIGH', 120], [testTime * 1e6, 12_500_000, 12500, 'ECG_QUALITY_LOW', 120], [testTime * 1e6, 20_000_000, 20000, null, 120]]);
    await expect(normalise('ecg', [{ ...ecg, quality_measurements: { recording_time_delta_ms: 0 } }])).rejects.toMatchObject({ code: 'PL_DAILY_INVALID', field: 'quality_measurements' });
    await expect(normalise('ecg', [{ ...ecg, quality_measurements: [{ quality_level: 'ECG_QUALITY_HIGH' }] }])).rejects.toMatchObject({ code: 'PL_DAILY_INVALID', field: 'quality_measurements' });
    const spo2 = await normalise('spo2', [{ test_time: testTime, time_zone_offset: -300, test_status: 'TEST_PASSED', blood_oxygen_percent: 97, spo2_class: 'SPO2_CLASS_NORMAL', altitude_meters: 12.5 }]);
    expectRowsFitSchemas(spo2);
    expect(spo2.spo2![0]).toMatchObject({ utc_offset_min: -300, blood_oxygen_percent: 97, altitude_m: 12.5, test_status: 'TEST_PASSED' });
    await expect(normalise('spo2', [{ test_time: '2026-01-14', time_zone_offset: 0 }])).rejects.toMatchObject({ code: 'PL_DAILY_INVALID', field: 'test_time' });
  });
});

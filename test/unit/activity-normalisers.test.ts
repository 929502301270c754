import { describe, expect, it } from 'vitest';
import { normaliseCurrentActivitySamples, normaliseLegacyStepSamples, normaliseLegacyZoneSamples } from '../../src/parse/activity-samples.ts';
import { DailyPayloadError } from '../../src/parse/json-payload.ts';
import { normalisePhysicalInfo } from '../../src/parse/physical-info.ts';
import { snapshotStamp } from '../../src/stages/fetch-activity.ts';
import { fetchWorkFor } from '../../src/webhooks/dispatch.ts';

const ctx = { userId: '475', file: 'raw/daily/activity/user_id=475/date=2025-08-14/activity.json.gz', date: '2025-08-14' };
const us = (iso: string) => Date.parse(iso) * 1000;

describe('activity > normalisers', () => {
  it('current samples: steps as sent (no seconds), with the interval and total; zones as change points; inactivity stamps; wall time read as UTC, offset null', () => {
    const day = {
      start_time: '2025-08-14T00:00', steps: 30,
      samples: {
        date: '2025-08-14',
        steps: { interval_ms: 60000, total_steps: 30, samples: [{ steps: 0, timestamp: '2025-08-14T00:00' }, { steps: 12, timestamp: '2025-08-14T07:02' }, { steps: null, timestamp: '2025-08-14T07:03:30' }] },
        activity_zones: { samples: [{ zone: 'SEDENTARY', timestamp: '2025-08-14T00:08:30' }, { zone: 'LIGHT', timestamp: '2025-08-14T07:02:00' }] },
        inactivity_stamps: [{ stamp: '2025-08-14T16:04' }],
      },
    };
    const rows = normaliseCurrentActivitySamples(day, ctx);
    expect(rows.steps).toEqual([
      { user_id: '475', utc_offset_min: null, time_utc_us: us('2025-08-14T00:00:00Z'), steps: 0, steps_missing: false, interval_s: 60, day_total_steps: 30, source_channel: 'current' },
      { user_id: '475', utc_offset_min: null, time_utc_us: us('2025-08-14T07:02:00Z'), steps: 12, steps_missing: false, interval_s: 60, day_total_steps: 30, source_channel: 'current' },
      { user_id: '475', utc_offset_min: null, time_utc_us: us('2025-08-14T07:03:30Z'), steps: null, steps_missing: true, interval_s: 60, day_total_steps: 30, source_channel: 'current' },
    ]);
    expect(rows.zones.map((z) => [z.time_utc_us, z.zone, z.in_zone_s])).toEqual([[us('2025-08-14T00:08:30Z'), 'SEDENTARY', null], [us('2025-08-14T07:02:00Z'), 'LIGHT', null]]);
    expect(rows.inactivity).toEqual([{ user_id: '475', utc_offset_min: null, time_utc_us: us('2025-08-14T16:04:00Z') }]);
    // An /activities/samples item has the parts at the top level; a day without samples has none.
    expect(normaliseCurrentActivitySamples(day.samples, ctx).steps).toHaveLength(3);
    expect(normaliseCurrentActivitySamples({ start_time: '2025-08-14T00:00', steps: 1 }, ctx)).toEqual({ steps: [], zones: [], inactivity: [] });
  });

  it('current samples: a bad timestamp is a typed error naming the field', () => {
    const bad = { samples: { steps: { interval_ms: 60000, samples: [{ steps: 1, timestamp: '14.08.2025 07:02' }] } } };
    expect(() => normaliseCurrentActivitySamples(bad, ctx)).toThrow(DailyPayloadError);
    expect(() => normaliseCurrentActivitySamples(bad, ctx)).toThrow(/samples\.steps\.samples\[0\]\.timestamp/);
    // A sample with no timestamp at all: the same typed error, not a crash on the missing value.
    const missing = { samples: { steps: { interval_ms: 60000, samples: [{ steps: 1 }] } } };
    expect(() => normaliseCurrentActivitySamples(missing, ctx)).toThrow(DailyPayloadError);
    expect(() => normaliseCurrentActivitySamples(missing, ctx)).toThrow(/missing date-time.*samples\.steps\.samples\[0\]\.timestamp|samples\.steps\.samples\[0\]\.timestamp.*missing date-time/);
  });

  it('legacy step samples: HH:mm:ss.SSS on the day, interval in minutes, null = unavailable segment', () => {
    const rows = normaliseLegacyStepSamples({ date: '2025-08-14', interval: 5, samples: [{ steps: 5, time: '12:37:33.000' }, { steps: null, time: '12:42:33.250' }] }, ctx);
    expect(rows).toEqual([
      { user_id: '475', time_utc_us: us('2025-08-14T12:37:33Z'), utc_offset_min: null, steps: 5, steps_missing: false, interval_s: 300, day_total_steps: null, source_channel: 'transactional' },
      { user_id: '475', time_utc_us: us('2025-08-14T12:42:33Z') + 250_000, utc_offset_min: null, steps: null, steps_missing: true, interval_s: 300, day_total_steps: null, source_channel: 'transactional' },
    ]);
    expect(() => normaliseLegacyStepSamples({ date: '2025-08-14', samples: [{ steps: 1, time: '25:00' }] }, ctx)).toThrow(/samples\[0\]\.time/);
  });

  it('legacy zone samples: one row per zone of each hour, index named, in-zone seconds', () => {
    const rows = normaliseLegacyZoneSamples({ date: '2025-08-14', interval: 60, samples: [{ 'activity-zones': [{ index: 1, inzone: 'PT51M5S' }, { index: 5, inzone: 'PT8M55S' }], time: '10:00:00.000' }] }, ctx);
    expect(rows.map((r) => [r.time_utc_us, r.zone, r.zone_index, r.in_zone_s])).toEqual([
      [us('2025-08-14T10:00:00Z'), 'SEDENTARY', 1, 3065],
      [us('2025-08-14T10:00:00Z'), 'NON_WEAR', 5, 535],
    ]);
    expect(() => normaliseLegacyZoneSamples({ date: '2025-08-14', samples: [{ 'activity-zones': [{ index: 1, inzone: '51 min' }], time: '10:00' }] }, ctx)).toThrow(DailyPayloadError);
  });
});

describe('physical info > normaliser', () => {
  it('the current snake_case snapshot, keyed by modified', () => {
    const row = normalisePhysicalInfo({
      weight: 71.5, height: 180, created: '2024-01-01T10:00:00Z', modified: '2025-02-03T04:05:06.789Z', birthday: '1980-05-06', gender: 'MALE',
      maximum_heart_rate: 190, resting_heart_rate: 50, aerobic_threshold: 130, anaerobic_threshold: 160, vo2_max: 52,
      weight_source: 'SOURCE_MEASURED', sleep_goal: 'PT7H30M', training_background: 'REGULAR', typical_day: 'MOSTLY_SITTING',
    }, ctx);
    expect(row).toMatchObject({
      snapshot_utc_us: us('2025-02-03T04:05:06.789Z'), utc_offset_min: 0, created_utc_us: us('2024-01-01T10:00:00Z'), weight_kg: 71.5, sleep_goal_s: 27000,
      maximum_heart_rate_bpm: 190, vo2_max: 52, source_channel: 'current', typical_day: 'MOSTLY_SITTING',
    });
  });

  it('the transactional hyphenated item, keyed by created; missing fields are null', () => {
    const row = normalisePhysicalInfo({ id: 1, 'transaction-id': 9, created: '2025-02-03T04:05:06.000Z', weight: 70, 'maximum-heart-rate': 185, 'weight-source': 'SOURCE_USER' }, ctx);
    expect(row).toMatchObject({ snapshot_utc_us: us('2025-02-03T04:05:06Z'), modified_utc_us: null, maximum_heart_rate_bpm: 185, weight_source: 'SOURCE_USER', height_cm: null, source_channel: 'transactional' });
    expect(() => normalisePhysicalInfo({ weight: 70 }, ctx)).toThrow(/neither modified nor created/);
  });

  it('the snapshot stamp the raw key uses follows the same instant in either channel', () => {
    expect(snapshotStamp({ modified: '2025-02-03T04:05:06.789Z' }, 'f')).toBe('20250203T040506789000Z');
    expect(snapshotStamp({ created: '2025-02-03T04:05:06.789Z' }, 'f')).toBe(snapshotStamp({ modified: '2025-02-03T04:05:06.789Z', created: '2020-01-01T00:00:00Z' }, 'g'));
    expect(() => snapshotStamp({}, 'f')).toThrow(DailyPayloadError);
  });
});

describe('webhooks > dispatch', () => {
  const now = new Date('2025-08-14T12:00:00Z');
  const e = (event: string, extra: Record<string, unknown> = {}) => ({ event, user_id: '475', entity_id: null, date: null, timestamp: null, ...extra });
  it('maps every event type to its fetch, from the event, the user and the date (never the url)', () => {
    expect(fetchWorkFor(e('EXERCISE', { entity_id: 'aQ' }), now)).toEqual({ kind: 'exercises' });
    expect(fetchWorkFor(e('ACTIVITY_SUMMARY', { date: '2025-08-14' }), now)).toEqual({ kind: 'dated', event: 'ACTIVITY_SUMMARY', types: ['activity'], dates: ['2025-08-13', '2025-08-14'] });
    expect(fetchWorkFor(e('PHYSICAL_INFORMATION'), now)).toEqual({ kind: 'physical-info' });
    expect(fetchWorkFor(e('SLEEP', { date: '2025-08-14' }), now)).toEqual({ kind: 'dated', event: 'SLEEP', types: ['sleep', 'nightly_recharge'], dates: ['2025-08-14'] });
    expect(fetchWorkFor(e('CONTINUOUS_HEART_RATE', { date: '2025-08-10' }), now)).toEqual({ kind: 'dated', event: 'CONTINUOUS_HEART_RATE', types: ['continuous_heart_rate'], dates: ['2025-08-10'] });
    expect(fetchWorkFor(e('SLEEP_WISE_ALERTNESS', { from: '2025-08-10', to: '2025-08-12' }), now)).toEqual({ kind: 'dated', event: 'SLEEP_WISE_ALERTNESS', types: ['sleepwise_alertness'], dates: ['2025-08-10', '2025-08-11', '2025-08-12'] });
    const year = fetchWorkFor(e('SLEEP_WISE_CIRCADIAN_BEDTIME', { from: '2025-01-01', to: '2025-12-31' }), now) as unknown as { types: string[]; dates: string[] };
    expect(year.types).toEqual(['sleepwise_circadian_bedtime']);
    expect(year.dates).toHaveLength(28);
    expect(fetchWorkFor(e('ACTIVITY_SUMMARY', { date: 'garbage' }), now)).toMatchObject({ dates: ['2025-08-13', '2025-08-14'] });
    expect(fetchWorkFor(e('NEW_THING'), now)).toBeNull();
  });
});

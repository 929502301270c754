import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normaliseDailyActivity } from '../../src/parse/daily-activity.ts';
import { DailyPayloadError } from '../../src/parse/json-payload.ts';
import { normaliseSleep } from '../../src/parse/sleep.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CORPUS = resolve(ROOT, process.env['POLAR_LAKE_CORPUS'] ?? '../shared/corpus');
const AXS = join(CORPUS, 'axs192_polar-flow-platform-public');
const hasCorpus = existsSync(join(AXS, 'full_sample.json')) && existsSync(join(AXS, 'health_extraction.json'));
const readCorpus = (name: string) => JSON.parse(readFileSync(join(AXS, name), 'utf8')) as unknown;

const ctx = { userId: '475', file: 'raw/daily/x.json.gz' };
const us = (iso: string) => Date.parse(iso) * 1000;

describe.skipIf(!hasCorpus)(`parse > daily > corpus (${hasCorpus ? AXS : 'corpus folder absent: set POLAR_LAKE_CORPUS'})`, () => {
  it('parse > daily > corpus > full_sample.json day (no date field: the day is start_time\'s)', () => {
    const [day] = readCorpus('full_sample.json') as unknown[];
    const { row, date } = normaliseDailyActivity(day, ctx);
    expect(date).toBe('2025-09-26');
    expect(row).toEqual({
      user_id: '475',
      date_start_utc_us: us('2025-09-26T00:00:00Z'),
      utc_offset_min: null,
      start_time_utc_us: us('2025-09-26T00:00:00Z'),
      end_time_utc_us: us('2025-09-26T23:59:59Z'),
      active_duration_s: 8 * 3600 + 33 * 60 + 30,
      inactive_duration_s: 8 * 3600 + 21 * 60 + 30,
      daily_activity_pct: 67.61,
      calories_kcal: 2823,
      active_calories_kcal: 1129,
      steps: 9842,
      inactivity_alert_count: 0,
      distance_from_steps_m: 5403.16,
    });
  });

  it('parse > daily > corpus > health_extraction.json daily_activity and sleep', () => {
    const bundle = readCorpus('health_extraction.json') as { daily_activity: unknown[]; sleep: unknown };
    const activity = normaliseDailyActivity(bundle.daily_activity[0], ctx);
    expect(activity.date).toBe('2025-10-01');
    expect(activity.row.active_duration_s).toBe(7 * 3600 + 22 * 60);
    expect(activity.row.steps).toBe(11138);

    const { row, date } = normaliseSleep(bundle.sleep, ctx);
    expect(date).toBe('2025-10-01'); // the wake-up date, although sleep began on 30 Sep
    expect(row.utc_offset_min).toBe(60);
    expect(row.sleep_end_utc_offset_min).toBe(60);
    expect(row.sleep_start_utc_us).toBe(us('2025-09-30T22:33:22.675Z'));
    expect(row.sleep_end_utc_us).toBe(us('2025-10-01T06:13:22.675Z'));
    // Local midnight of 1 Oct at +01:00, so local_date (instant + offset) is 1 Oct.
    expect(row.date_start_utc_us).toBe(us('2025-09-30T23:00:00Z'));
    expect(row).toMatchObject({
      device_id: '66A9802D', continuity: 3.3, continuity_class: 3, light_sleep_s: 14400, deep_sleep_s: 3390, rem_sleep_s: 8160,
      unrecognized_sleep_stage_s: 0, sleep_score: 80, total_interruption_duration_s: 1650, short_interruption_duration_s: 900,
      long_interruption_duration_s: 750, sleep_goal_s: 25200, sleep_charge: 3, sleep_rating: 3, sleep_cycles: 6,
      group_duration_score: 95, group_solidity_score: 70.1594, group_regeneration_score: 78.3665,
    });
  });
});

describe('parse > daily > activity (generated)', () => {
  it('parse > daily > activity > legacy hyphenated summary gives the same columns', () => {
    const { row, date } = normaliseDailyActivity(
      { id: 1234, 'polar-user': 'https://x/v3/users/475', date: '2026-03-01', created: '2026-03-01T23:10:00.000', calories: 2400, 'active-calories': 900, duration: 'PT5H12M', 'active-steps': 10400 },
      ctx,
    );
    expect(date).toBe('2026-03-01');
    expect(row).toMatchObject({ date_start_utc_us: us('2026-03-01T00:00:00Z'), active_duration_s: 5 * 3600 + 12 * 60, calories_kcal: 2400, active_calories_kcal: 900, steps: 10400, start_time_utc_us: null });
  });

  it('parse > daily > activity > no date in the payload: the fetch event\'s date is used', () => {
    const { date, row } = normaliseDailyActivity({ steps: 10, calories: 1 }, { ...ctx, date: '2026-01-31' });
    expect(date).toBe('2026-01-31');
    expect(row.date_start_utc_us).toBe(us('2026-01-31T00:00:00Z'));
  });

  it('parse > daily > activity > no date anywhere is a typed error naming file and field', () => {
    const error = (() => {
      try {
        normaliseDailyActivity({ steps: 10 }, ctx);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DailyPayloadError);
    expect(error).toMatchObject({ code: 'PL_DAILY_INVALID', kind: 'terminal', file: ctx.file, field: 'date' });
  });

  it('parse > daily > activity > a malformed duration or time names the field', () => {
    expect(() => normaliseDailyActivity({ start_time: '2026-01-01T00:00', active_duration: '5 hours' }, ctx)).toThrow(/active_duration: not an ISO-8601 duration/);
    expect(() => normaliseDailyActivity({ date: '2026-01-01', start_time: 'yesterday' }, ctx)).toThrow(/start_time: not a date-time/);
    expect(() => normaliseDailyActivity([], ctx)).toThrow(DailyPayloadError);
    expect(() => normaliseDailyActivity({ date: '2026-02-30' }, ctx)).toThrow(/no date/);
  });

  it('parse > daily > activity > sparse payload: missing values are null, not zero', () => {
    const { row } = normaliseDailyActivity({ start_time: '2026-05-05T00:00', steps: '12' }, ctx);
    expect(row).toMatchObject({ steps: null, calories_kcal: null, active_duration_s: null, inactivity_alert_count: null });
  });
});

describe('parse > daily > sleep (generated)', () => {
  const night = (start: string, end: string, extra: Record<string, unknown> = {}) => ({ date: end.slice(0, 10), sleep_start_time: start, sleep_end_time: end, light_sleep: 100.4, ...extra });

  it('parse > daily > sleep > west of UTC: the night starts on the UTC date it belongs to', () => {
    const { row, date } = normaliseSleep(night('2026-03-07T23:40:00-08:00', '2026-03-08T07:05:00-07:00'), ctx); // US DST starts overnight
    expect(date).toBe('2026-03-08');
    expect(row.sleep_start_utc_us).toBe(us('2026-03-08T07:40:00Z'));
    expect(row.sleep_end_utc_us).toBe(us('2026-03-08T14:05:00Z'));
    expect(row.utc_offset_min).toBe(-480);
    expect(row.sleep_end_utc_offset_min).toBe(-420);
    expect(row.date_start_utc_us).toBe(us('2026-03-08T08:00:00Z')); // 8 Mar 00:00 at -08:00
    expect(row.light_sleep_s).toBe(100);
  });

  it('parse > daily > sleep > far east of UTC: the whole night lies on the previous UTC date', () => {
    const { row } = normaliseSleep(night('2026-06-30T23:10:00+12:45', '2026-07-01T06:30:00+12:45'), ctx);
    expect(row.utc_offset_min).toBe(765);
    expect(new Date(row.sleep_end_utc_us! / 1000).toISOString().slice(0, 10)).toBe('2026-06-30');
    expect(new Date(row.date_start_utc_us / 1000 + 765 * 60_000).toISOString()).toBe('2026-07-01T00:00:00.000Z');
  });

  it('parse > daily > sleep > times without an offset are read as UTC with a null offset', () => {
    const { row } = normaliseSleep(night('2026-01-01T23:00:00', '2026-01-02T07:00:00'), ctx);
    expect(row.utc_offset_min).toBeNull();
    expect(row.sleep_start_utc_us).toBe(us('2026-01-01T23:00:00Z'));
    expect(row.date_start_utc_us).toBe(us('2026-01-02T00:00:00Z'));
  });

  it('parse > daily > sleep > no date falls back to the wake-up date, then to the event', () => {
    expect(normaliseSleep({ sleep_end_time: '2026-04-02T06:00:00+02:00' }, ctx).date).toBe('2026-04-02');
    expect(normaliseSleep({ sleep_score: 70 }, { ...ctx, date: '2026-04-03' }).date).toBe('2026-04-03');
    expect(() => normaliseSleep({ sleep_score: 70 }, ctx)).toThrow(/raw\/daily\/x.json.gz: date: no date/);
    expect(() => normaliseSleep({ date: '2026-04-02', sleep_start_time: '02/04/2026 23:00' }, ctx)).toThrow(/sleep_start_time: not a date-time/);
  });
});

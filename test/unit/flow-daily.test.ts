import { describe, expect, it } from 'vitest';
import { flowSleepNights, isFlowActivityDay, normaliseFlowActivityDay, normaliseFlowSleepNight } from '../../src/parse/flow-daily.ts';
import { flowActivityDay, flowSleepResult } from '../helpers/import-fixtures.ts';

const ctx = { userId: 'u', file: 'f' };

describe('parse > flow export daily', () => {
  it('flow daily > an activity day becomes a daily_activity row', () => {
    const json = JSON.parse(flowActivityDay('2022-02-03', 9876)) as unknown;
    expect(isFlowActivityDay(json)).toBe(true);
    expect(isFlowActivityDay({ date: '2022-02-03', steps: 1 })).toBe(false); // AccessLink's day
    expect(normaliseFlowActivityDay(json, ctx)).toMatchObject({
      date_start_utc_us: Date.UTC(2022, 1, 3) * 1000, steps: 9876, calories_kcal: 2400, inactivity_alert_count: 1,
      start_time_utc_us: Date.UTC(2022, 1, 3) * 1000, end_time_utc_us: Date.UTC(2022, 1, 3, 23, 59, 59) * 1000,
    });
  });

  it('flow daily > sleep nights: stages summed from the hypnogram, zone from sleepStart', () => {
    const nights = flowSleepNights(JSON.parse(flowSleepResult(['2022-02-03'])) as unknown)!;
    expect(nights).toHaveLength(1);
    expect(normaliseFlowSleepNight(nights[0], ctx)).toMatchObject({
      utc_offset_min: 120, date_start_utc_us: Date.UTC(2022, 1, 2, 22) * 1000, sleep_start_utc_us: Date.UTC(2022, 1, 2, 22) * 1000,
      light_sleep_s: 3 * 3600 - 600 + 3600, deep_sleep_s: 3600, rem_sleep_s: 7200, total_interruption_duration_s: 720, sleep_goal_s: 28800,
      continuity: 3.4, continuity_class: 3, device_id: 'D0C0FFEE',
    });
    expect(flowSleepNights([{ date: '2022-02-03' }])).toBeNull();
  });

  it('flow daily > bad input: typed errors', () => {
    expect(() => normaliseFlowActivityDay({ exportVersion: '1', date: 'soon', summary: {} }, ctx)).toThrow(expect.objectContaining({ code: 'PL_DAILY_INVALID' }));
    expect(() => normaliseFlowSleepNight({ night: '2022-02-03', sleepResult: { hypnogram: { sleepStart: 'late' } } }, ctx)).toThrow(expect.objectContaining({ code: 'PL_DAILY_INVALID' }));
  });
});

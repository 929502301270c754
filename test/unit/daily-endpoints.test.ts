import { describe, expect, it } from 'vitest';
import { dateBasedEndpoint } from '../../src/daily/endpoints.ts';
import { dailySweepConfig, everyMs } from '../../src/pipeline/data-types.ts';
import { parsePipeline } from '../../src/pipeline/load.ts';
import { planRequests } from '../../src/stages/fetch-daily.ts';

const SAMPLES = { steps: 'true', activity_zones: 'true', inactivity_stamps: 'true' };

describe('daily > endpoint registry', () => {
  it.each([
    // kind, lookback, requests, minDate
    ['sleep', 28, [['/v3/users/sleep', {}]], '2026-01-18'],
    ['sleep', 3, [['/v3/users/sleep', {}]], '2026-02-12'], // no range call: the list, with older days dropped
    ['nightly_recharge', 40, [['/v3/users/nightly-recharge', {}]], '2026-01-18'], // capped at the 28-day window
    ['cardio_load', 28, [['/v3/users/cardio-load', {}]], '2026-01-18'],
    ['cardio_load', 3, [['/v3/users/cardio-load/date', { from: '2026-02-12', to: '2026-02-14' }]], '2026-02-12'],
    ['sleepwise_alertness', 7, [['/v3/users/sleepwise/alertness/date', { from: '2026-02-08', to: '2026-02-14' }]], '2026-02-08'],
    ['body_temperature', 2, [['/v3/users/biosensing/bodytemperature', { from: '2026-02-13', to: '2026-02-14' }]], '2026-02-13'],
    ['continuous_heart_rate', 28, [['/v3/users/continuous-heart-rate', { from: '2026-01-18', to: '2026-02-14' }]], '2026-01-18'],
    // Activity always asks for its step, zone and inactivity samples (one request per range gives the series too).
    ['activity', 28, [['/v3/users/activities', { ...SAMPLES }]], '2026-01-18'],
    ['activity', 60, [
      ['/v3/users/activities', { ...SAMPLES, from: '2025-12-17', to: '2026-01-13' }],
      ['/v3/users/activities', { ...SAMPLES, from: '2026-01-14', to: '2026-02-10' }],
      ['/v3/users/activities', { ...SAMPLES, from: '2026-02-11', to: '2026-02-14' }],
    ], '2025-12-17'],
  ] as const)('daily > endpoint registry > %s over %i days: the fewest requests the window and range rules allow', (kind, lookback, requests, minDate) => {
    const plan = planRequests(dateBasedEndpoint(kind), '2026-02-14', lookback);
    expect(plan.requests.map((r) => [r.path, r.query])).toEqual(requests);
    expect(plan.minDate).toBe(minDate);
  });

  it('daily > endpoint registry > per-date calls and their no-data statuses (sleep, recharge, continuous HR: 404; the rest: 204)', () => {
    expect(dateBasedEndpoint('sleep').byDate.request('2026-02-14')).toEqual({ path: '/v3/users/sleep/2026-02-14', query: {} });
    expect(dateBasedEndpoint('sleep').byDate.noData).toContain(404);
    expect(dateBasedEndpoint('nightly_recharge').byDate.noData).toContain(404);
    expect(dateBasedEndpoint('continuous_heart_rate').byDate.noData).toContain(404);
    expect(dateBasedEndpoint('sleepwise_circadian_bedtime').byDate.request('2026-02-14')).toEqual({ path: '/v3/users/sleepwise/circadian-bedtime/date', query: { from: '2026-02-14', to: '2026-02-14' } });
    expect(dateBasedEndpoint('spo2').byDate.noData).toEqual([204]);
    expect(dateBasedEndpoint('activity').byDate.noData).toEqual([204]);
  });

  it('daily > endpoint registry > pipeline → sweep config: daily list, enabled overrides, every and lookback defaults', () => {
    const p = parsePipeline('version: 1\nname: p\nfetch:\n  daily: [activity, sleep, ecg]\n  data_types:\n    ecg: { enabled: false }\n    spo2: { enabled: true, every: 6h, lookback_days: 7 }\n', 'p.yaml');
    const c = dailySweepConfig(p.fetch);
    expect(c.kinds).toEqual(['activity', 'sleep', 'spo2']);
    expect(c.schedule.spo2).toEqual({ everyMs: 6 * 3_600_000, lookbackDays: 7 });
    expect(c.schedule.activity).toEqual({ everyMs: 0, lookbackDays: 28 });
    expect(c.schedule.nightly_recharge).toEqual({ everyMs: 3_600_000, lookbackDays: 28 });
    expect(dailySweepConfig(parsePipeline('version: 1\nname: p\nfetch:\n  daily: []', 'p.yaml').fetch).kinds).toEqual([]);
    expect([everyMs('0s'), everyMs('15m'), everyMs('2d'), everyMs('1w')]).toEqual([0, 900_000, 172_800_000, null]);
  });
});

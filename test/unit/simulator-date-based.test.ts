import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { api, loginAndRegister } from '../helpers/simulator-client.ts';

const sims: Simulator[] = [];
afterEach(async () => {
  for (const s of sims.splice(0)) await s.close();
});

async function start(days = 5): Promise<{ s: Simulator; token: string; userId: string }> {
  const s = await startSimulator({ seed: 11, exercisesPerUser: 0, dailyDaysAtRegistration: days });
  sims.push(s);
  return { s, ...(await loginAndRegister(s, 0)) };
}

const addDays = (date: string, n: number) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

describe('simulator > date-based', () => {
  it('simulator > date-based > nightly recharge: {"recharges": [...]}, one by date, 404 when none; HH:MM maps from 30 min after falling asleep', async () => {
    const { s, token, userId } = await start();
    const truth = s.dateBasedDays(userId, 'nightly_recharge');
    expect(truth).toHaveLength(5);
    const list = (await (await api(s, token, 'GET', '/v3/users/nightly-recharge')).json()) as { recharges: Record<string, unknown>[] };
    expect(list.recharges).toEqual(truth.map((d) => d.items[0]));
    const one = truth[2]!;
    expect(await (await api(s, token, 'GET', `/v3/users/nightly-recharge/${one.date}`)).json()).toEqual(one.items[0]);
    expect((await api(s, token, 'GET', `/v3/users/nightly-recharge/${addDays(truth[0]!.date, -1)}`)).status).toBe(404);
    const night = s.sleepNights(userId).find((n) => n.date === one.date)!.json;
    const startClock = String(night['sleep_start_time']).slice(11, 16);
    const keys = Object.keys(one.items[0]!['hrv_samples'] as object);
    expect(keys).toHaveLength(48);
    expect(keys.every((k) => /^\d\d:\d\d$/.test(k))).toBe(true);
    expect(keys[0]! > startClock || keys[0]! < '12:00').toBe(true);
    expect(Object.keys(night['hypnogram'] as object)[0]).toBe(startClock);
  });

  it('simulator > date-based > continuous heart rate: by date (404 when none), range with both dates required and at most 28 days, one day → the single object, several → heart_rates', async () => {
    const { s, token, userId } = await start();
    const truth = s.dateBasedDays(userId, 'continuous_heart_rate');
    const [a, b] = [truth[0]!.date, truth[1]!.date];
    expect(await (await api(s, token, 'GET', `/v3/users/continuous-heart-rate/${a}`)).json()).toEqual(truth[0]!.items[0]);
    expect((await api(s, token, 'GET', `/v3/users/continuous-heart-rate/${addDays(a, -1)}`)).status).toBe(404);
    const single = (await (await api(s, token, 'GET', `/v3/users/continuous-heart-rate?from=${a}&to=${a}`)).json()) as Record<string, unknown>;
    expect(single['date']).toBe(a);
    const many = (await (await api(s, token, 'GET', `/v3/users/continuous-heart-rate?from=${a}&to=${b}`)).json()) as { heart_rates: { date: string }[] };
    expect(many.heart_rates.map((d) => d.date)).toEqual([a, b]);
    expect((await api(s, token, 'GET', `/v3/users/continuous-heart-rate?from=${a}`)).status).toBe(400);
    expect((await api(s, token, 'GET', `/v3/users/continuous-heart-rate?from=${addDays(a, -30)}&to=${a}`)).status).toBe(400);
    expect((await api(s, token, 'GET', `/v3/users/continuous-heart-rate?from=${addDays(a, -20)}&to=${addDays(a, -10)}`)).status).toBe(204);
    const samples = truth[0]!.items[0]!['heart_rate_samples'] as { sample_time: string }[];
    expect(samples[0]!.sample_time).toMatch(/^\d\d:\d\d:\d\d$/);
  });

  it('simulator > date-based > cardio load: list, by date (array of one), /date range with a NOT_AVAILABLE entry per day without a value, very-high', async () => {
    const { s, token, userId } = await start(3);
    const truth = s.dateBasedDays(userId, 'cardio_load');
    expect(await (await api(s, token, 'GET', '/v3/users/cardio-load')).json()).toEqual(truth.map((d) => d.items[0]));
    expect(await (await api(s, token, 'GET', `/v3/users/cardio-load/${truth[0]!.date}`)).json()).toEqual([truth[0]!.items[0]]);
    const first = truth[0]!.date;
    const range = (await (await api(s, token, 'GET', `/v3/users/cardio-load/date?from=${addDays(first, -2)}&to=${first}`)).json()) as Record<string, unknown>[];
    expect(range.map((d) => [d['date'], d['cardio_load_status'] === 'LOAD_STATUS_NOT_AVAILABLE'])).toEqual([[addDays(first, -2), true], [addDays(first, -1), true], [first, false]]);
    expect((truth[0]!.items[0]!['cardio_load_level'] as Record<string, unknown>)['very-high']).toEqual(expect.any(Number));
    expect((await api(s, token, 'GET', '/v3/users/cardio-load/date')).status).toBe(400);
  });

  it('simulator > date-based > SleepWise: times UTC without Z, 204 when none, /date needs both dates within 28 days', async () => {
    const { s, token, userId } = await start();
    const truth = s.dateBasedDays(userId, 'sleepwise_alertness');
    const list = (await (await api(s, token, 'GET', '/v3/users/sleepwise/alertness')).json()) as Record<string, unknown>[];
    expect(list).toEqual(truth.flatMap((d) => d.items));
    expect(String(list[0]!['period_start_time'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    const first = truth[0]!.date;
    expect((await api(s, token, 'GET', `/v3/users/sleepwise/circadian-bedtime/date?from=${addDays(first, -9)}&to=${addDays(first, -5)}`)).status).toBe(204);
    expect((await api(s, token, 'GET', `/v3/users/sleepwise/circadian-bedtime/date?from=${first}&to=${first}`)).status).toBe(200);
    expect((await api(s, token, 'GET', `/v3/users/sleepwise/alertness/date?to=${first}`)).status).toBe(400);
    expect((await api(s, token, 'GET', `/v3/users/sleepwise/alertness/date?from=${addDays(first, -29)}&to=${first}`)).status).toBe(400);
  });

  it('simulator > date-based > biosensing: five resources, optional range, 204 when none; ECG test_time epoch seconds with time_zone_offset', async () => {
    const { s, token, userId } = await start(10);
    for (const [resource, kind] of [['bodytemperature', 'body_temperature'], ['skintemperature', 'skin_temperature'], ['skincontacts', 'skin_contacts'], ['ecg', 'ecg'], ['spo2', 'spo2']] as const) {
      const truth = s.dateBasedDays(userId, kind).flatMap((d) => d.items);
      const res = await api(s, token, 'GET', `/v3/users/biosensing/${resource}`);
      if (truth.length === 0) expect(res.status).toBe(204);
      else expect(await res.json()).toEqual(truth);
    }
    const ecg = s.dateBasedDays(userId, 'ecg');
    expect(ecg.length).toBeGreaterThan(0);
    const test = ecg[0]!.items[0]!;
    expect(Number.isInteger(test['test_time'])).toBe(true);
    expect(test['time_zone_offset']).toEqual(expect.any(Number));
    expect((test['samples'] as unknown[]).length).toBe(30 * 130);
    const before = addDays(s.dailyActivity(userId)[0]!.date, -3);
    expect((await api(s, token, 'GET', `/v3/users/biosensing/ecg?from=${before}&to=${before}`)).status).toBe(204);
    expect((await api(s, token, 'GET', `/v3/users/biosensing/ecg?from=${before}`)).status).toBe(400);
    expect((await api(s, token, 'GET', '/v3/users/biosensing/heartbeat')).status).toBe(404);
  });

  it('simulator > date-based > deterministic from the seed; a re-sync changes that day of that type only; 401 without a token', async () => {
    const { s, token, userId } = await start(3);
    const before = s.dateBasedDays(userId, 'nightly_recharge');
    const hrBefore = s.dateBasedDays(userId, 'continuous_heart_rate');
    s.resyncDay(userId, before[1]!.date, ['nightly_recharge']);
    const after = s.dateBasedDays(userId, 'nightly_recharge');
    expect(after[1]).not.toEqual(before[1]);
    expect([after[0], after[2]]).toEqual([before[0], before[2]]);
    expect(s.dateBasedDays(userId, 'continuous_heart_rate')).toEqual(hrBefore);
    expect((await fetch(`${s.apiBaseUrl}/v3/users/nightly-recharge`)).status).toBe(401);
    expect((await api(s, token, 'POST', '/v3/users/cardio-load')).status).toBe(405);
  });
});

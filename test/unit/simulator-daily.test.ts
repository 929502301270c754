import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { api, loginAndRegister } from '../helpers/simulator-client.ts';

const sims: Simulator[] = [];
afterEach(async () => {
  for (const s of sims.splice(0)) await s.close();
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  const s = await startSimulator({ seed: 9, exercisesPerUser: 0, ...options });
  sims.push(s);
  return s;
}

const localToday = (offsetMin: number) => new Date(Date.now() + offsetMin * 60_000).toISOString().slice(0, 10);
const addDays = (date: string, n: number) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

describe('simulator > daily', () => {
  it('simulator > daily > activities list: the days uploaded since registration, snake_case, by the user\'s local date', async () => {
    const s = await start({ dailyDaysAtRegistration: 5 });
    const { token, userId } = await loginAndRegister(s, 0);
    const res = await api(s, token, 'GET', '/v3/users/activities?steps=true&activity_zones=true&inactivity_stamps=true');
    expect(res.status).toBe(200);
    const days = (await res.json()) as Record<string, unknown>[];
    const truth = s.dailyActivity(userId);
    expect(truth).toHaveLength(5);
    expect(truth.at(-1)!.date).toBe(localToday(truth[0]!.utcOffsetMin));
    expect(days).toEqual(truth.map((d) => d.json));
    expect(days[0]).toMatchObject({ start_time: `${truth[0]!.date}T00:00`, end_time: `${truth[0]!.date}T23:59:59` });
    expect(Object.keys(days[0]!).sort()).toEqual(
      ['active_calories', 'active_duration', 'calories', 'daily_activity', 'distance_from_steps', 'end_time', 'inactive_duration', 'inactivity_alert_count', 'samples', 'start_time', 'steps'],
    );
    // Without the flags, no samples.
    const bare = (await (await api(s, token, 'GET', '/v3/users/activities')).json()) as Record<string, unknown>[];
    expect(bare.every((d) => !('samples' in d))).toBe(true);
  });

  it('simulator > daily > activities: from/to window, 28-day limit, 204 by date, 400 on bad dates, 401 without a token', async () => {
    const s = await start({ dailyDaysAtRegistration: 3 });
    const { token, userId } = await loginAndRegister(s, 1);
    const truth = s.dailyActivity(userId);
    const first = truth[0]!.date;
    const range = await api(s, token, 'GET', `/v3/users/activities?from=${first}&to=${first}`);
    expect(((await range.json()) as unknown[]).length).toBe(1);
    expect((await api(s, token, 'GET', `/v3/users/activities?from=${addDays(first, -40)}&to=${first}`)).status).toBe(400);
    expect((await api(s, token, 'GET', `/v3/users/activities?from=${addDays(first, -30)}&to=${addDays(first, -20)}`)).status).toBe(200);
    expect(await (await api(s, token, 'GET', `/v3/users/activities?from=${addDays(first, -30)}&to=${addDays(first, -20)}`)).json()).toEqual([]);
    expect((await api(s, token, 'GET', `/v3/users/activities/${first}`)).status).toBe(200);
    const before = await api(s, token, 'GET', `/v3/users/activities/${addDays(first, -1)}`);
    expect(before.status).toBe(204);
    expect(await before.text()).toBe('');
    expect((await api(s, token, 'GET', '/v3/users/activities/2026-13-01')).status).toBe(400);
    expect((await fetch(`${s.apiBaseUrl}/v3/users/activities`)).status).toBe(401);
  });

  it('simulator > daily > sleep: nights as {"nights": [...]}, one by date, 404 when none; nights cross midnight', async () => {
    const s = await start({ dailyDaysAtRegistration: 4 });
    const { token, userId } = await loginAndRegister(s, 0);
    const body = (await (await api(s, token, 'GET', '/v3/users/sleep')).json()) as { nights: Record<string, unknown>[] };
    const truth = s.sleepNights(userId);
    expect(body.nights).toEqual(truth.map((n) => n.json));
    const night = truth[1]!;
    expect(await (await api(s, token, 'GET', `/v3/users/sleep/${night.date}`)).json()).toEqual(night.json);
    expect((await api(s, token, 'GET', `/v3/users/sleep/${addDays(truth[0]!.date, -1)}`)).status).toBe(404);
    const start_ = String(night.json['sleep_start_time']);
    const end = String(night.json['sleep_end_time']);
    expect(start_.slice(0, 10)).toBe(addDays(night.date, -1));
    expect(end.slice(0, 10)).toBe(night.date);
    expect(start_).toMatch(/[+-]\d\d:\d\d$/);
  });

  it('simulator > daily > unregistered users get no daily data; registration brings the last days', async () => {
    const s = await start();
    expect(s.dailyActivity(s.accounts[2]!.polarUserId)).toEqual([]);
    expect(s.sleepNights(s.accounts[2]!.polarUserId)).toEqual([]);
  });

  it('simulator > daily > deterministic from the seed; resyncDay grows that day only', async () => {
    const a = await start();
    const b = await start();
    const ra = await loginAndRegister(a, 0);
    await loginAndRegister(b, 0);
    expect(a.dailyActivity(ra.userId).map((d) => d.json)).toEqual(b.dailyActivity(ra.userId).map((d) => d.json));
    const days = a.dailyActivity(ra.userId);
    const target = days[2]!.date;
    a.resyncDay(ra.userId, target);
    const after = a.dailyActivity(ra.userId);
    expect(after[2]!.json['steps'] as number).toBeGreaterThan(days[2]!.json['steps'] as number);
    expect(after.filter((_, i) => i !== 2)).toEqual(days.filter((_, i) => i !== 2));
    const nights = a.sleepNights(ra.userId);
    expect(nights[2]!.json['sleep_rating']).not.toBe(b.sleepNights(ra.userId)[2]!.json['sleep_rating']);
    expect(() => a.resyncDay(ra.userId, '2026/01/01')).toThrow(/not a date/);
  });
});

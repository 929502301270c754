/**
 * The night, heart and biosensing data end to end on the embedded bus: the simulator serves
 * every date-based endpoint, the fetch stage sweeps them into the raw zone and polar.fetched,
 * the parse stage normalises them, the sink writes Parquet, DuckDB reads the tables back.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { rawDailyKeyFor } from '../../src/lake/raw-zone.ts';
import { DAILY_KINDS, type DailyKind } from '../../src/records/envelope.ts';
import type { DateBasedPayload } from '../../src/simulator/date-based.ts';
import { createDailySweep, SWEEP_CURSOR_ID, type DailySchedule } from '../../src/stages/fetch-daily.ts';
import { createFetchStage } from '../../src/stages/fetch.ts';
import { replayRawZone } from '../../src/stages/replay.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { closeRigAndLake, count, parseAndSink, query } from '../helpers/date-based-lake.ts';
import { startFetchRig, type FetchRig } from '../helpers/fetch-fixture.ts';

let rig: FetchRig | undefined;
let lakeDir: string | undefined;
afterEach(async () => {
  await closeRigAndLake(rig, lakeDir);
  rig = lakeDir = undefined;
});

const NEW_KINDS = DAILY_KINDS.filter((k): k is DateBasedPayload => k !== 'activity' && k !== 'sleep' && k !== 'activity_samples');

const stageFor = (r: FetchRig, options: { daily?: readonly DailyKind[]; schedule?: Partial<Record<DailyKind, DailySchedule>>; now?: () => Date } = {}) =>
  createFetchStage({
    client: r.client, users: r.users, rawZone: r.rawZone, ledger: r.ledger, bus: r.bus, logger: r.logger, payloads: ['summary'],
    daily: options.daily ?? DAILY_KINDS, ...(options.schedule ? { dailySchedule: options.schedule } : {}), now: options.now ?? (() => NOW),
  });

/** JSON with every object's keys sorted, so equal items compare equal whatever their key order. */
function canonical(value: unknown): string {
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sortKeys) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sortKeys(value));
}


/** The sweeps' clock: fixed for a test, so "today" cannot move under it. */
const NOW = new Date();
const TODAY_UTC = NOW.toISOString().slice(0, 10);

/**
 * The days a sweep at NOW reads for a type: continuous heart rate comes only through its range
 * call, which ends today (UTC), so a user east of UTC has a newest local day not read yet.
 */
const sweptDays = (r: FetchRig, u: string, kind: DateBasedPayload) => r.sim.dateBasedDays(u, kind).filter((d) => kind !== 'continuous_heart_rate' || d.date <= TODAY_UTC);

/** Rows the lake should hold per table, from the simulator's ground truth. */
function expectedCounts(r: FetchRig): Record<string, number> {
  const n: Record<string, number> = {};
  const add = (table: string, k: number) => (n[table] = (n[table] ?? 0) + k);
  for (const { polarUserId: u } of r.sim.accounts) {
    for (const night of r.sim.sleepNights(u)) {
      add('sleep_stages', Object.keys(night.json['hypnogram'] as object).length);
      add('sleep_heart_rate', Object.keys(night.json['heart_rate_samples'] as object).length);
    }
    const days = (kind: DateBasedPayload) => sweptDays(r, u, kind);
    const items = (kind: DateBasedPayload) => days(kind).flatMap((d) => d.items);
    for (const d of items('nightly_recharge')) {
      add('nightly_recharge', 1);
      add('nightly_recharge_hrv', Object.keys(d['hrv_samples'] as object).length);
      add('nightly_recharge_breathing', Object.keys(d['breathing_samples'] as object).length);
    }
    for (const d of items('continuous_heart_rate')) add('continuous_heart_rate', (d['heart_rate_samples'] as unknown[]).length);
    add('cardio_load', items('cardio_load').length);
    for (const d of items('sleepwise_alertness')) {
      add('sleepwise_alertness', 1);
      add('sleepwise_alertness_hourly', (d['hourly_data'] as unknown[]).length);
    }
    add('sleepwise_circadian_bedtime', items('sleepwise_circadian_bedtime').length);
    for (const d of items('body_temperature')) {
      add('body_temperature', 1);
      add('body_temperature_samples', (d['samples'] as unknown[]).length);
    }
    add('skin_temperature', items('skin_temperature').length);
    for (const d of items('skin_contacts')) {
      add('skin_contacts', 1);
      add('skin_contact_changes', (d['skin_contact_changes'] as unknown[]).length);
    }
    for (const d of items('ecg')) {
      add('ecg', 1);
      add('ecg_samples', (d['samples'] as unknown[]).length);
      add('ecg_quality_measurements', (d['quality_measurements'] as unknown[]).length);
    }
    add('spo2', items('spo2').length);
  }
  return n;
}

describe('fetch > date-based', () => {
  it('fetch > date-based > every type: one request per user and type, raw first, every table filled to the simulator\'s truth', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 4, seed: 7 });
    lakeDir = await mkdtemp(join(tmpdir(), 'polar-lake-date-based-'));
    const report = await stageFor(rig).runOnce();
    expect(report.errorsByCode).toEqual({});
    const users = rig.sim.accounts.map((a) => a.polarUserId);

    // Raw first: every day of every type is in the raw zone as the API served it, and on polar.fetched.
    const events = await rig.events();
    let days = 0;
    for (const u of users) {
      for (const kind of NEW_KINDS) {
        // A day is keyed by the date the item itself names (a body-temperature period by its start's
        // local date, the evening before the simulator's night), so compare the items, not the keys.
        const stored: unknown[] = [];
        for await (const key of rig.rawZone.list(`raw/daily/${kind}/user_id=${u}/`)) {
          days++;
          const json = JSON.parse(await text(rig.rawZone.open(key))) as unknown;
          stored.push(...(Array.isArray(json) ? json : [json]));
          expect(events.filter((e) => e.raw_key === key)).toHaveLength(1);
        }
        // The multi-day continuous heart-rate answer ({"heart_rates": [...]}) carries no polar_user per day.
        const served = sweptDays(rig, u, kind).flatMap((d) => d.items).map((item) => {
          if (kind !== 'continuous_heart_rate') return item;
          const { polar_user: _user, ...day } = item;
          return day;
        });
        expect(stored.map(canonical).sort(), kind).toEqual(served.map(canonical).sort());
      }
    }
    expect(days).toBeGreaterThan(users.length * 8 * 4 - 1);
    // One list request per user and type (continuous heart rate: its range call); biosensing with no test answers 204.
    // physical-info is its own sweep (src/stages/fetch-activity.ts), not a date-based type.
    const paths = rig.sim.requestLog.filter((r) => r.path.startsWith('/v3/users/') && !/\/v3\/users\/(activities|sleep(\/|$)|physical-info$)/.test(r.path));
    expect(paths.filter((r) => r.path === '/v3/users/continuous-heart-rate')).toHaveLength(users.length);
    expect(paths.filter((r) => r.path === '/v3/users/biosensing/ecg')).toHaveLength(users.length);
    expect(paths.filter((r) => r.path.startsWith('/v3/users/')).length).toBe(users.length * NEW_KINDS.length);

    await parseAndSink(rig, lakeDir);
    for (const [table, n] of Object.entries(expectedCounts(rig))) expect(await count(lakeDir, table), table).toBe(n);

    // Time done right, per user offset (Sydney +600, Los Angeles -480, UTC): the hypnogram starts at the
    // sleep start's minute, the night's stages are in order across midnight, offsets are the account's.
    const nights = await query(lakeDir, `SELECT s.user_id, s.local_date::VARCHAR AS d, s.utc_offset_min AS off, epoch_ms(s.sleep_start_utc) AS start_ms, epoch_ms(s.sleep_end_utc) AS end_ms,
        min(epoch_ms(st.time_utc)) AS first_ms, max(epoch_ms(st.time_utc)) AS last_ms, count(DISTINCT st.utc_offset_min) AS offsets, max(st.utc_offset_min) AS st_off,
        sum(st.duration_s) AS staged_s
      FROM sleep s JOIN sleep_stages st ON st.user_id = s.user_id AND st.sleep_date = s.local_date::VARCHAR GROUP BY ALL`);
    expect(nights.length).toBe(users.length * 4);
    for (const n of nights) {
      expect(Number(n['first_ms'])).toBe(Math.floor(Number(n['start_ms']) / 60_000) * 60_000);
      expect(Number(n['last_ms'])).toBeLessThan(Number(n['end_ms']));
      expect([n['offsets'], n['st_off']]).toEqual([1, n['off']]);
      expect(Number(n['staged_s'])).toBe(Math.round((Number(n['end_ms']) - Number(n['first_ms'])) / 1000));
    }
    expect(new Set(nights.map((n) => n['off']))).toEqual(new Set([600, -480, 0]));
    // Nightly Recharge found its night's sleep (fetched first) and anchored its series on it.
    const anchored = await query(lakeDir, `SELECT count(*) AS n, count(*) FILTER (WHERE epoch_ms(r.sleep_start_utc) = epoch_ms(s.sleep_start_utc) AND r.utc_offset_min = s.utc_offset_min) AS same
      FROM nightly_recharge r JOIN sleep s USING (user_id, local_date)`);
    expect(anchored[0]).toEqual({ n: users.length * 4, same: users.length * 4 });
    const firstHrv = await query(lakeDir, `SELECT min(epoch_ms(h.time_utc) - epoch_ms(s.sleep_start_utc)) AS lead_ms FROM nightly_recharge_hrv h JOIN sleep s ON s.user_id = h.user_id AND s.local_date::VARCHAR = h.sleep_date`);
    expect(Number(firstHrv[0]!['lead_ms'])).toBeGreaterThanOrEqual(29 * 60_000); // starts 30 min after falling asleep (keys are whole minutes)
    // Sentinels kept as rows with a null value.
    expect(await count(lakeDir, 'sleep_heart_rate', 'sentinel')).toBe(await count(lakeDir, 'sleep_heart_rate', 'heart_rate_bpm IS NULL'));
    expect(await count(lakeDir, 'continuous_heart_rate', 'utc_offset_min IS NOT NULL')).toBe(0);
    // Every ECG's quality measurements, keyed like its samples and joined back to the test.
    const quality = await query(lakeDir, `SELECT count(*) AS n, count(e.test_time_utc) AS joined, count(DISTINCT q.quality_level) AS levels FROM ecg_quality_measurements q
      LEFT JOIN ecg e ON e.user_id = q.user_id AND e.test_time_utc = q.test_time_utc`);
    expect(quality[0]).toEqual({ n: expectedCounts(rig)['ecg_quality_measurements'], joined: expectedCounts(rig)['ecg_quality_measurements'], levels: 3 });
    // Cardio load's very-high level made it through.
    expect(await count(lakeDir, 'cardio_load', 'level_very_high > level_high')).toBe(await count(lakeDir, 'cardio_load'));
  });

  it('fetch > date-based > an unchanged day costs no store; a re-synced night replaces its rows, never doubling them', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 3, seed: 3 });
    lakeDir = await mkdtemp(join(tmpdir(), 'polar-lake-date-based-'));
    const daily: DailyKind[] = ['sleep', 'nightly_recharge', 'continuous_heart_rate'];
    const stage = stageFor(rig, { daily });
    const first = await stage.runOnce();
    const second = await stage.runOnce();
    expect(second).toMatchObject({ daysStored: 0, daysUnchanged: first.daysStored, eventsPublished: 0 });

    const user = rig.sim.accounts[1]!.polarUserId;
    const date = rig.sim.sleepNights(user)[1]!.date;
    const before = rig.sim.dateBasedDays(user, 'nightly_recharge').find((d) => d.date === date)!.items[0]!;
    rig.sim.resyncDay(user, date, ['nightly_recharge', 'continuous_heart_rate']);
    const after = rig.sim.dateBasedDays(user, 'nightly_recharge').find((d) => d.date === date)!.items[0]!;
    expect(after['hrv_samples']).not.toEqual(before['hrv_samples']);
    const third = await stage.runOnce();
    expect(third).toMatchObject({ daysStored: 2, eventsPublished: 2 });

    await parseAndSink(rig, lakeDir);
    const truth = expectedCounts(rig);
    for (const table of ['nightly_recharge', 'nightly_recharge_hrv', 'continuous_heart_rate', 'sleep_stages']) expect(await count(lakeDir, table), table).toBe(truth[table]);
    const hrv = await query(lakeDir, `SELECT clock_time, hrv_ms FROM nightly_recharge_hrv WHERE user_id = '${user}' AND sleep_date = '${date}' ORDER BY time_utc`);
    const samples = after['hrv_samples'] as Record<string, number>;
    expect(hrv.map((h) => h['clock_time']).sort()).toEqual(Object.keys(samples).sort());
    for (const h of hrv) expect(h['hrv_ms']).toBe(samples[h['clock_time'] as string] === 0 ? null : samples[h['clock_time'] as string]);

    // A replay of the whole raw zone rebuilds the same tables: nothing doubles.
    expect(await replayRawZone(rig.rawZone, rig.bus)).toBeGreaterThan(0);
    await parseAndSink(rig, lakeDir);
    for (const table of ['sleep', 'sleep_stages', 'sleep_heart_rate', 'nightly_recharge', 'nightly_recharge_hrv', 'nightly_recharge_breathing', 'continuous_heart_rate']) {
      expect(await count(lakeDir, table), `${table} after replay`).toBe(table === 'sleep' ? rig.sim.accounts.length * 3 : truth[table]);
    }
  });

  it('fetch > date-based > a recharge stored before its night\'s sleep is parsed again when the sleep arrives, and anchored on it', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 3, users: 1 });
    lakeDir = await mkdtemp(join(tmpdir(), 'polar-lake-date-based-'));
    const user = rig.sim.accounts[0]!.polarUserId;
    await stageFor(rig, { daily: ['nightly_recharge'] }).runOnce();
    await parseAndSink(rig, lakeDir);
    expect(await count(lakeDir, 'nightly_recharge', 'utc_offset_min IS NULL AND sleep_start_utc IS NULL')).toBe(3);

    const report = await stageFor(rig, { daily: ['sleep'] }).runOnce();
    expect(report).toMatchObject({ daysStored: 3, eventsPublished: 6 }); // 3 nights + their 3 recharges announced again
    await parseAndSink(rig, lakeDir);
    const offset = rig.sim.sleepNights(user)[0]!.utcOffsetMin;
    expect(await count(lakeDir, 'nightly_recharge', `utc_offset_min = ${offset} AND sleep_start_utc IS NOT NULL`)).toBe(3);
    const truth = expectedCounts(rig);
    expect(await count(lakeDir, 'nightly_recharge_hrv')).toBe(truth['nightly_recharge_hrv']);
    expect(await count(lakeDir, 'nightly_recharge_hrv', `utc_offset_min = ${offset}`)).toBe(truth['nightly_recharge_hrv']);
    // Each HRV series starts 30 min after its night's sleep start.
    const lead = await query(lakeDir, `SELECT min(epoch_ms(h.time_utc) - epoch_ms(s.sleep_start_utc)) AS lo, max(epoch_ms(h.time_utc) - epoch_ms(s.sleep_start_utc)) AS hi
      FROM nightly_recharge_hrv h JOIN sleep s ON s.user_id = h.user_id AND s.local_date::VARCHAR = h.sleep_date`);
    expect(Number(lead[0]!['lo'])).toBeGreaterThanOrEqual(29 * 60_000);
    expect(Number(lead[0]!['hi'])).toBeLessThan(5 * 3600_000);
  });

  it('fetch > date-based > `every` skips a type read recently (no request), lookback_days narrows the range call', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 6, users: 1 });
    const t0 = Date.now();
    let clock = t0;
    const stage = stageFor(rig, { daily: ['continuous_heart_rate', 'cardio_load'], schedule: { continuous_heart_rate: { everyMs: 3_600_000, lookbackDays: 2 }, cardio_load: { everyMs: 0, lookbackDays: 3 } }, now: () => new Date(clock) });
    const hr = () => rig!.sim.requestLog.filter((r) => r.path === '/v3/users/continuous-heart-rate').length;
    const first = await stage.runOnce();
    expect(hr()).toBe(1);
    const user = rig.sim.accounts[0]!.polarUserId;
    expect(rig.ledger.get(user, SWEEP_CURSOR_ID, 'continuous_heart_rate')).toMatchObject({ state: 'swept', atUtc: new Date(t0).toISOString() });
    // Two days back at most (today and yesterday, UTC), three for cardio load through its /date range call.
    const stored = (kind: DateBasedPayload) => rig!.sim.dateBasedDays(user, kind).filter((d) => rig!.ledger.get(user, d.date, kind)?.state === 'published').length;
    expect(stored('continuous_heart_rate')).toBeLessThanOrEqual(2);
    expect(stored('continuous_heart_rate')).toBeGreaterThanOrEqual(1);
    expect(stored('cardio_load')).toBeLessThanOrEqual(3);
    expect(rig.sim.requestLog.filter((r) => r.path === '/v3/users/cardio-load/date')).toHaveLength(1);
    expect(first.errorsByCode).toEqual({});
    clock = t0 + 10 * 60_000;
    await stage.runOnce();
    expect(hr()).toBe(1);
    expect(rig.sim.requestLog.filter((r) => r.path === '/v3/users/cardio-load/date')).toHaveLength(2);
    clock = t0 + 61 * 60_000;
    await stage.runOnce();
    expect(hr()).toBe(2);
  });

  it('fetch > date-based > 204 and 404 are "no data", not errors; a webhook\'s date fetches that one day', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 2, users: 1 });
    const user = rig.sim.accounts[0]!.polarUserId;
    rig.sim.injectFault({ path: /^\/v3\/users\/continuous-heart-rate$/, status: 404 });
    rig.sim.injectFault({ path: /^\/v3\/users\/sleepwise\/alertness$/, status: 204 });
    rig.sim.injectFault({ path: /^\/v3\/users\/nightly-recharge$/, status: 404 });
    const report = await stageFor(rig, { daily: ['continuous_heart_rate', 'sleepwise_alertness', 'nightly_recharge', 'spo2'] }).runOnce();
    expect(report.errorsByCode).toEqual({});
    const events = await rig.events();
    expect(events.filter((e) => ['continuous_heart_rate', 'sleepwise_alertness', 'nightly_recharge'].includes(e.payload))).toEqual([]);
    expect(rig.users.list()[0]!.status).toBe('active');

    const sweep = createDailySweep({ client: rig.client, rawZone: rig.rawZone, ledger: rig.ledger, bus: rig.bus, logger: silentLogger, now: () => new Date() });
    const counts = { daysStored: 0, daysUnchanged: 0, eventsPublished: 0, bytesStored: 0 };
    const errors: unknown[] = [];
    const token = rig.users.accessToken(user);
    const day = rig.sim.dateBasedDays(user, 'nightly_recharge')[0]!;
    await sweep.fetchDay(user, token, 'nightly_recharge', '2020-01-01', counts, (e) => errors.push(e)); // 404 by date
    await sweep.fetchDay(user, token, 'sleepwise_circadian_bedtime', '2020-01-01', counts, (e) => errors.push(e)); // 204
    expect(counts.daysStored).toBe(0);
    await sweep.fetchDay(user, token, 'nightly_recharge', day.date, counts, (e) => errors.push(e));
    await sweep.fetchDay(user, token, 'continuous_heart_rate', day.date, counts, (e) => errors.push(e));
    await sweep.fetchDay(user, token, 'nightly_recharge', day.date, counts, (e) => errors.push(e));
    expect(counts).toMatchObject({ daysStored: 2, daysUnchanged: 1 });
    expect(errors).toEqual([]);
    expect(JSON.parse(await text(rig.rawZone.open(rawDailyKeyFor(user, 'nightly_recharge', day.date))))).toEqual(day.items[0]);
    const statuses = rig.sim.requestLog.filter((r) => r.path.includes('2020-01-01') || r.path.endsWith('/circadian-bedtime/date')).map((r) => r.status);
    expect(statuses.sort()).toEqual([204, 404]);

    // Through the stage (what a webhook naming a date calls): stored once; a 403 marks the user.
    const stage = stageFor(rig, { daily: [] });
    const night = rig.sim.sleepNights(user)[0]!;
    expect(night.date).toBe(day.date);
    // The night, and that date's recharge (stored above, without its night) announced again.
    expect(await stage.fetchDailyDay(user, 'sleep', night.date)).toMatchObject({ daysStored: 1, eventsPublished: 2, errorsByCode: {} });
    expect(rig.sim.requestLog.at(-1)).toMatchObject({ path: `/v3/users/sleep/${night.date}`, status: 200 });
    expect(await stage.fetchDailyDay(user, 'sleep', night.date)).toMatchObject({ daysStored: 0, daysUnchanged: 1 });
    rig.sim.injectFault({ path: /^\/v3\/users\/sleep\//, status: 403 });
    expect((await stage.fetchDailyDay(user, 'sleep', night.date)).errorsByCode).toEqual({ PL_ACCESSLINK_CONSENT_REQUIRED: 1 });
    expect(rig.users.list()[0]!.status).toBe('needs_consent');
  });
});

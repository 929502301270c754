/**
 * A re-synced day whose new version has no row for a child table (a night whose hypnogram
 * became empty, a day whose step list became empty) loses the old rows at once, in the same
 * commit path that replaces a changed day's rows, not only after a replay.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFetchStage } from '../../src/stages/fetch.ts';
import { closeRigAndLake, count, parseAndSink } from '../helpers/date-based-lake.ts';
import { startFetchRig, type FetchRig } from '../helpers/fetch-fixture.ts';

let rig: FetchRig | undefined;
let lakeDir: string | undefined;
afterEach(async () => {
  await closeRigAndLake(rig, lakeDir);
  rig = lakeDir = undefined;
});

const NOW = new Date();
const json = { 'Content-Type': 'application/json' };

describe('sink > a re-synced day with an emptied child table', () => {
  it('sink > emptied child table > a night whose hypnogram and heart-rate map became empty keeps its sleep row and loses its stages', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 3, users: 2, seed: 6 });
    lakeDir = await mkdtemp(join(tmpdir(), 'polar-lake-emptied-'));
    const stage = createFetchStage({ client: rig.client, users: rig.users, rawZone: rig.rawZone, ledger: rig.ledger, bus: rig.bus, logger: rig.logger, payloads: ['summary'], daily: ['sleep'], now: () => NOW });
    expect((await stage.runOnce()).errorsByCode).toEqual({});
    await parseAndSink(rig, lakeDir);
    const user = rig.sim.accounts[0]!.polarUserId;
    const night = rig.sim.sleepNights(user)[1]!;
    const mine = `user_id = '${user}' AND sleep_date = '${night.date}'`;
    const stagesBefore = await count(lakeDir, 'sleep_stages');
    const nightStages = await count(lakeDir, 'sleep_stages', mine);
    expect(nightStages).toBe(Object.keys(night.json['hypnogram'] as object).length);
    expect(await count(lakeDir, 'sleep_heart_rate', mine)).toBeGreaterThan(0);

    // Polar now serves the night with empty maps (a SLEEP webhook names the date).
    rig.sim.injectFault({ path: new RegExp(`^/v3/users/sleep/${night.date}$`), status: 200, body: JSON.stringify({ ...night.json, hypnogram: {}, heart_rate_samples: {}, sleep_score: 11 }), headers: json });
    expect(await stage.fetchDailyDay(user, 'sleep', night.date)).toMatchObject({ daysStored: 1 });
    await parseAndSink(rig, lakeDir);
    expect(await count(lakeDir, 'sleep', `user_id = '${user}' AND local_date = DATE '${night.date}' AND sleep_score = 11`)).toBe(1);
    expect(await count(lakeDir, 'sleep_stages', mine)).toBe(0);
    expect(await count(lakeDir, 'sleep_heart_rate', mine)).toBe(0);
    expect(await count(lakeDir, 'sleep_stages')).toBe(stagesBefore - nightStages); // the other nights untouched

    // The next version has stages again: they come back, once.
    rig.sim.injectFault({ path: new RegExp(`^/v3/users/sleep/${night.date}$`), status: 200, body: JSON.stringify(night.json), headers: json });
    expect(await stage.fetchDailyDay(user, 'sleep', night.date)).toMatchObject({ daysStored: 1 });
    await parseAndSink(rig, lakeDir);
    expect(await count(lakeDir, 'sleep_stages')).toBe(stagesBefore);
  });

  it('sink > emptied child table > a day whose step list became empty loses its step rows; its zones and summary stay', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 3, users: 1, seed: 8 });
    lakeDir = await mkdtemp(join(tmpdir(), 'polar-lake-emptied-'));
    const stage = createFetchStage({ client: rig.client, users: rig.users, rawZone: rig.rawZone, ledger: rig.ledger, bus: rig.bus, logger: rig.logger, payloads: ['summary'], daily: ['activity'], now: () => NOW });
    expect((await stage.runOnce()).errorsByCode).toEqual({});
    await parseAndSink(rig, lakeDir);
    const user = rig.sim.accounts[0]!.polarUserId;
    const day = rig.sim.dailyActivity(user)[1]!;
    const mine = `user_id = '${user}' AND local_date = DATE '${day.date}'`;
    const zones = await count(lakeDir, 'activity_zone_samples', mine);
    expect(await count(lakeDir, 'activity_step_samples', mine)).toBeGreaterThan(0);
    expect(zones).toBeGreaterThan(0);
    const samples = day.json['samples'] as Record<string, Record<string, unknown>>;
    const emptied = { ...day.json, samples: { ...samples, steps: { ...samples['steps'], samples: [] }, inactivity_stamps: [] } };
    rig.sim.injectFault({ path: new RegExp(`^/v3/users/activities/${day.date}$`), status: 200, body: JSON.stringify(emptied), headers: json });
    expect(await stage.fetchDailyDay(user, 'activity', day.date)).toMatchObject({ daysStored: 1 });
    await parseAndSink(rig, lakeDir);
    expect(await count(lakeDir, 'activity_step_samples', mine)).toBe(0);
    expect(await count(lakeDir, 'activity_inactivity_stamps', mine)).toBe(0);
    expect(await count(lakeDir, 'activity_zone_samples', mine)).toBe(zones);
    expect(await count(lakeDir, 'daily_activity', mine)).toBe(1);
    expect(await count(lakeDir, 'activity_step_samples', `local_date <> DATE '${day.date}'`)).toBeGreaterThan(0);
  });
});

/**
 * Sleep read probe first (`/v3/users/sleep/available`) against the simulator: one cheap call
 * lists the nights; full nights are read only when new or when their start or end moved, and
 * land in the lake once.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dailySweepConfig } from '../../src/pipeline/data-types.ts';
import { createFetchStage } from '../../src/stages/fetch.ts';
import { closeRigAndLake, count, parseAndSink, query } from '../helpers/date-based-lake.ts';
import { startFetchRig, type FetchRig } from '../helpers/fetch-fixture.ts';

let rig: FetchRig | undefined;
let lakeDir: string | undefined;
afterEach(async () => {
  await closeRigAndLake(rig, lakeDir);
  rig = lakeDir = undefined;
});

const NOW = new Date();
/** `probe` as `fetch.data_types.sleep.probe` in a pipeline file says. */
const sleepStage = (r: FetchRig, probe = true) =>
  createFetchStage({
    client: r.client, users: r.users, rawZone: r.rawZone, ledger: r.ledger, bus: r.bus, logger: r.logger, payloads: ['summary'], daily: ['sleep'], now: () => NOW,
    dailySchedule: dailySweepConfig({ daily: ['sleep'], data_types: { sleep: { probe } } }).schedule,
  });

/** Sleep requests since `from` in the request log, by kind. */
function sleepRequests(r: FetchRig, from: number): { available: number; list: number; byDate: string[] } {
  const log = r.sim.requestLog.slice(from).filter((x) => x.path.startsWith('/v3/users/sleep'));
  return {
    available: log.filter((x) => x.path === '/v3/users/sleep/available').length,
    list: log.filter((x) => x.path === '/v3/users/sleep').length,
    byDate: log.filter((x) => /^\/v3\/users\/sleep\/\d{4}-\d{2}-\d{2}$/.test(x.path)).map((x) => x.path.slice(-10)),
  };
}

const truthStages = (r: FetchRig) => r.sim.accounts.flatMap((a) => r.sim.sleepNights(a.polarUserId)).reduce((n, night) => n + Object.keys(night.json['hypnogram'] as object).length, 0);

describe('fetch > sleep available', () => {
  it('fetch > sleep available > the probe lists the nights; only new or moved nights are read in full, and land once', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 4, users: 3, seed: 9 });
    lakeDir = await mkdtemp(join(tmpdir(), 'polar-lake-sleep-available-'));
    const users = rig.sim.accounts.map((a) => a.polarUserId);
    const stage = sleepStage(rig);

    // First run: every night is new, so one probe and one list call per user (not one call per night).
    let mark = rig.sim.requestLog.length;
    const first = await stage.runOnce();
    expect(first.errorsByCode).toEqual({});
    expect(first.daysStored).toBe(users.length * 4);
    expect(sleepRequests(rig, mark)).toEqual({ available: users.length, list: users.length, byDate: [] });
    await parseAndSink(rig, lakeDir);
    expect(await count(lakeDir, 'sleep')).toBe(users.length * 4);
    expect(await count(lakeDir, 'sleep_stages')).toBe(truthStages(rig));

    // Nothing moved: the probe alone.
    mark = rig.sim.requestLog.length;
    expect(await stage.runOnce()).toMatchObject({ daysStored: 0, eventsPublished: 0 });
    expect(sleepRequests(rig, mark)).toEqual({ available: users.length, list: 0, byDate: [] });

    // One night re-synced (its end moves): the probe plus that night's own call, for that user only.
    const user = users[1]!;
    const night = rig.sim.sleepNights(user)[2]!;
    rig.sim.resyncDay(user, night.date, ['sleep']);
    const moved = rig.sim.sleepNights(user)[2]!;
    expect(moved.json['sleep_end_time']).not.toEqual(night.json['sleep_end_time']);
    mark = rig.sim.requestLog.length;
    expect(await stage.runOnce()).toMatchObject({ daysStored: 1 });
    expect(sleepRequests(rig, mark)).toEqual({ available: users.length, list: 0, byDate: [night.date] });
    await parseAndSink(rig, lakeDir);
    expect(await count(lakeDir, 'sleep')).toBe(users.length * 4);
    expect(await count(lakeDir, 'sleep_stages')).toBe(truthStages(rig));
    const row = await query(lakeDir, `SELECT epoch_ms(sleep_end_utc) AS end_ms FROM sleep WHERE user_id = '${user}' AND local_date::VARCHAR = '${night.date}'`);
    expect(row).toEqual([{ end_ms: Date.parse(moved.json['sleep_end_time'] as string) }]);

    // Two more moved nights: one list call serves both.
    rig.sim.resyncDay(user, rig.sim.sleepNights(user)[0]!.date, ['sleep']);
    rig.sim.resyncDay(user, rig.sim.sleepNights(user)[1]!.date, ['sleep']);
    mark = rig.sim.requestLog.length;
    expect(await stage.runOnce()).toMatchObject({ daysStored: 2 });
    expect(sleepRequests(rig, mark)).toEqual({ available: users.length, list: 1, byDate: [] });
  });

  it('fetch > sleep available > no nights is an empty answer; a body that is not {"available": [...]} is a typed error and stores nothing', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 2, users: 1 });
    const stage = sleepStage(rig);
    rig.sim.injectFault({ path: /^\/v3\/users\/sleep\/available$/, status: 200, body: '{"available": []}', headers: { 'Content-Type': 'application/json' } });
    let mark = rig.sim.requestLog.length;
    const empty = await stage.runOnce();
    expect([empty.daysStored, empty.errorsByCode]).toEqual([0, {}]);
    expect(sleepRequests(rig, mark)).toEqual({ available: 1, list: 0, byDate: [] });

    rig.sim.injectFault({ path: /^\/v3\/users\/sleep\/available$/, status: 404 });
    const notFound = await stage.runOnce();
    expect([notFound.daysStored, notFound.errorsByCode]).toEqual([0, {}]);

    rig.sim.injectFault({ path: /^\/v3\/users\/sleep\/available$/, status: 200, body: '{"nights": []}', headers: { 'Content-Type': 'application/json' } });
    mark = rig.sim.requestLog.length;
    expect(await stage.runOnce()).toMatchObject({ daysStored: 0, errorsByCode: { PL_ACCESSLINK_BAD_RESPONSE: 1 } });
    expect(sleepRequests(rig, mark)).toEqual({ available: 1, list: 0, byDate: [] });
    expect(rig.users.list()[0]!.status).toBe('active');

    // An entry naming no date is skipped with a typed error; the others are read.
    rig.sim.injectFault({ path: /^\/v3\/users\/sleep\/available$/, status: 200, body: JSON.stringify({ available: [{ start_time: 'x' }, ...rig.sim.sleepNights(rig.sim.accounts[0]!.polarUserId).map((n) => ({ date: n.date, start_time: n.json['sleep_start_time'], end_time: n.json['sleep_end_time'] }))] }), headers: { 'Content-Type': 'application/json' } });
    expect(await stage.runOnce()).toMatchObject({ daysStored: 2, errorsByCode: { PL_DAILY_INVALID: 1 } });
  });

  it('fetch > sleep available > off by default: the list alone, one request per read, as the request budget wants', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 4, users: 3, seed: 9 });
    const users = rig.sim.accounts.length;
    const stage = sleepStage(rig, false);
    for (let run = 0; run < 2; run++) {
      const mark = rig.sim.requestLog.length;
      await stage.runOnce();
      expect(sleepRequests(rig, mark)).toEqual({ available: 0, list: users, byDate: [] });
    }
  });
});

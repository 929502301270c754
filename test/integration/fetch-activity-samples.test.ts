/**
 * `/v3/users/activities/samples` (+ `/{date}`) against the simulator: the activity_samples type
 * feeds the step, zone and inactivity tables; while it is on, the activity list drops its sample
 * flags, and both paths write one source per day, so switching between them (or a day brought by
 * both) never doubles a row.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { rawDailyKeyFor } from '../../src/lake/raw-zone.ts';
import { addDays } from '../../src/stages/fetch-daily.ts';
import type { DailyKind } from '../../src/records/envelope.ts';
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
const stageFor = (r: FetchRig, daily: readonly DailyKind[]) =>
  createFetchStage({ client: r.client, users: r.users, rawZone: r.rawZone, ledger: r.ledger, bus: r.bus, logger: r.logger, payloads: ['summary'], daily, now: () => NOW });

const TABLES = ['activity_step_samples', 'activity_zone_samples', 'activity_inactivity_stamps'] as const;

/** Rows per sample table the simulator's series make (from the activity days served with every flag). */
function truth(r: FetchRig): Record<(typeof TABLES)[number], number> {
  const n = { activity_step_samples: 0, activity_zone_samples: 0, activity_inactivity_stamps: 0 };
  for (const { polarUserId } of r.sim.accounts) {
    for (const day of r.sim.dailyActivity(polarUserId)) {
      const s = day.json['samples'] as { steps: { samples: unknown[] }; activity_zones: { samples: unknown[] }; inactivity_stamps: unknown[] };
      n.activity_step_samples += s.steps.samples.length;
      n.activity_zone_samples += s.activity_zones.samples.length;
      n.activity_inactivity_stamps += s.inactivity_stamps.length;
    }
  }
  return n;
}

async function expectEachRowOnce(lake: string, r: FetchRig): Promise<void> {
  const t = truth(r);
  for (const table of TABLES) {
    expect(await count(lake, table), table).toBe(t[table]);
    const [keys] = await query(lake, `SELECT count(*) AS n, count(DISTINCT (user_id, time_utc${table === 'activity_zone_samples' ? ', zone' : ''})) AS k FROM ${table}`);
    expect(keys!['n'], `${table} keys`).toBe(keys!['k']);
  }
}

const requests = (r: FetchRig, from: number, pattern: RegExp) => r.sim.requestLog.slice(from).filter((x) => pattern.test(x.path)).map((x) => `${x.path} ${x.status}`);

describe('fetch > activity samples', () => {
  it('fetch > activity samples > the samples path feeds the series tables; switching paths lands each row once', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 3, users: 2, seed: 4 });
    lakeDir = await mkdtemp(join(tmpdir(), 'polar-lake-activity-samples-'));
    const users = rig.sim.accounts.map((a) => a.polarUserId);
    expect(truth(rig).activity_step_samples).toBeGreaterThan(0);

    // Default: the activity list with its flags brings summaries and series in one request.
    let mark = rig.sim.requestLog.length;
    expect((await stageFor(rig, ['activity']).runOnce()).errorsByCode).toEqual({});
    expect(requests(rig, mark, /^\/v3\/users\/activities/)).toEqual(users.map(() => '/v3/users/activities 200'));
    await parseAndSink(rig, lakeDir);
    await expectEachRowOnce(lakeDir, rig);

    // Switched to the samples endpoint: activity comes without series, the samples list brings them, nothing doubles.
    const stage = stageFor(rig, ['activity', 'activity_samples']);
    mark = rig.sim.requestLog.length;
    expect((await stage.runOnce()).errorsByCode).toEqual({});
    expect(requests(rig, mark, /^\/v3\/users\/activities/).sort()).toEqual([...users.map(() => '/v3/users/activities 200'), ...users.map(() => '/v3/users/activities/samples 200')]);
    const day = rig.sim.dailyActivity(users[0]!)[1]!;
    const storedDay = JSON.parse(await text(rig.rawZone.open(rawDailyKeyFor(users[0]!, 'activity', day.date)))) as Record<string, unknown>;
    expect(storedDay).not.toHaveProperty('samples');
    expect(storedDay['steps']).toBe(day.json['steps']);
    const storedSamples = JSON.parse(await text(rig.rawZone.open(rawDailyKeyFor(users[0]!, 'activity_samples', day.date)))) as Record<string, unknown>;
    expect(storedSamples).toEqual({ date: day.date, ...(day.json['samples'] as object) });
    await parseAndSink(rig, lakeDir);
    await expectEachRowOnce(lakeDir, rig);
    expect(await count(lakeDir, 'daily_activity')).toBe(users.length * 3);

    // A re-synced day through the samples path: its series replaced, still once.
    rig.sim.resyncDay(users[1]!, rig.sim.dailyActivity(users[1]!)[2]!.date, ['activity']);
    expect(await stage.runOnce()).toMatchObject({ daysStored: 2 }); // the day's summary and its series
    await parseAndSink(rig, lakeDir);
    await expectEachRowOnce(lakeDir, rig);

    // ACTIVITY_SUMMARY's date: the day without flags, then its series by date; a date without data is 204, not an error.
    mark = rig.sim.requestLog.length;
    const date = rig.sim.dailyActivity(users[0]!)[0]!.date;
    const before = addDays(date, -5); // before registration: no data
    const known = await stage.fetchDailyDay(users[0]!, 'activity', date);
    expect([known.errorsByCode, known.daysUnchanged]).toEqual([{}, 2]);
    const none = await stage.fetchDailyDay(users[0]!, 'activity', before);
    expect([none.errorsByCode, none.daysStored]).toEqual([{}, 0]);
    expect(requests(rig, mark, /^\/v3\/users\/activities/)).toEqual([
      `/v3/users/activities/${date} 200`, `/v3/users/activities/samples/${date} 200`, `/v3/users/activities/${before} 204`, `/v3/users/activities/samples/${before} 204`,
    ]);

    // And back to the default: the flags return, the series come from the activity days again, still once.
    expect((await stageFor(rig, ['activity']).runOnce()).errorsByCode).toEqual({});
    await parseAndSink(rig, lakeDir);
    await expectEachRowOnce(lakeDir, rig);
  });

  it('fetch > activity samples > an empty list is no data; an item naming no date is skipped with a typed error', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 2, users: 1 });
    const stage = stageFor(rig, ['activity_samples']);
    rig.sim.injectFault({ path: /^\/v3\/users\/activities\/samples$/, status: 200, body: '[]', headers: { 'Content-Type': 'application/json' } });
    const empty = await stage.runOnce();
    expect([empty.daysStored, empty.errorsByCode]).toEqual([0, {}]);
    rig.sim.injectFault({ path: /^\/v3\/users\/activities\/samples$/, status: 200, body: '[{"steps": {"samples": []}}]', headers: { 'Content-Type': 'application/json' } });
    expect(await stage.runOnce()).toMatchObject({ daysStored: 0, errorsByCode: { PL_DAILY_INVALID: 1 } });
    const whole = await stage.runOnce();
    expect([whole.daysStored, whole.errorsByCode]).toEqual([2, {}]);
  });
});

/**
 * Activity and physical-information transactions (ACTIVITY_SUMMARY, PHYSICAL_INFORMATION pull
 * notifications), /v3/users/physical-info, and the per-type webhook work, against the simulator.
 */
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { rawDailyKeyFor } from '../../src/lake/raw-zone.ts';
import { createFetchStage, type FetchStageOptions } from '../../src/stages/fetch.ts';
import type { WebhookEvent } from '../../src/webhooks/events.ts';
import { DAILY_KINDS } from '../../src/records/envelope.ts';
import { linesLeakingSecrets, startFetchRig, type FetchRig } from '../helpers/fetch-fixture.ts';

let rig: FetchRig | undefined;
afterEach(async () => {
  if (rig) expect(linesLeakingSecrets(rig)).toEqual([]);
  await rig?.close();
  rig = undefined;
});

const stageFor = (r: FetchRig, options: Partial<FetchStageOptions> = {}) =>
  createFetchStage({ client: r.client, users: r.users, rawZone: r.rawZone, ledger: r.ledger, bus: r.bus, logger: r.logger, daily: [], payloads: ['summary'], ...options });

const read = async (r: FetchRig, key: string) => JSON.parse(await text(r.rawZone.open(key))) as Record<string, unknown>;

describe('fetch > activity transactions', () => {
  it('fetch > activity > stores every day\'s summary, step and zone samples and every physical snapshot before committing; no notification stays listed', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 3, legacyDaily: true });
    const users = rig.sim.accounts.map((a) => a.polarUserId);
    const types = (await rig.client.listNotifications()).map((n) => `${n.userId} ${n.dataType}`).sort();
    expect(types).toEqual(users.flatMap((u) => [`${u} ACTIVITY_SUMMARY`, `${u} PHYSICAL_INFORMATION`]).sort());

    const report = await stageFor(rig, { physicalInfo: false }).runOnce();
    expect(report).toMatchObject({ activityItemsFetched: 9, physicalSnapshotsStored: 3, transactionsCommitted: 6, transactionsLeftOpen: 0, errorsByCode: {} });
    expect(await rig.client.listNotifications()).toEqual([]);
    for (const u of users) {
      expect(rig.sim.legacyPending('activity', u)).toEqual([]);
      expect(rig.sim.legacyPending('physical', u)).toEqual([]);
    }

    const events = await rig.events();
    expect(events).toHaveLength(3 * 3 * 3 + 3);
    for (const u of users) {
      for (const day of rig.sim.dailyActivity(u)) {
        const summary = await read(rig, rawDailyKeyFor(u, 'activity', day.date));
        expect(summary).toMatchObject({ date: day.date, 'active-steps': day.json['steps'], calories: day.json['calories'] });
        const steps = await read(rig, rawDailyKeyFor(u, 'activity_steps', day.date));
        expect(steps).toMatchObject({ date: day.date, interval: 60 });
        const known = (steps['samples'] as { steps: number | null }[]).filter((s) => s.steps !== null);
        // A past day's hourly sums add up to the day's steps.
        if (known.length === 24) expect(known.reduce((n, s) => n + s.steps!, 0)).toBe(day.json['steps']);
        const zones = await read(rig, rawDailyKeyFor(u, 'activity_zones', day.date));
        expect((zones['samples'] as unknown[]).length).toBeGreaterThan(0);
        for (const payload of ['activity', 'activity_steps', 'activity_zones']) {
          expect(events.filter((e) => e.user_id === u && e.payload === payload && e.date === day.date)).toHaveLength(1);
        }
      }
      const physical = events.filter((e) => e.user_id === u && e.payload === 'physical');
      expect(physical).toHaveLength(1);
      expect(physical[0]!.raw_key).toMatch(new RegExp(`^raw/physical/user_id=${u}/snapshot=\\d{8}T\\d{12}Z/physical\\.json\\.gz$`));
    }

    // Durable before commit: every commit comes after every GET of its transaction's items.
    const log = rig.sim.requestLog;
    for (const [i, r] of log.entries()) {
      if (r.method !== 'PUT') continue;
      const tx = r.path;
      const lastItemGet = log.map((x, j) => (x.method === 'GET' && x.path.startsWith(`${tx}/`) ? j : -1)).reduce((a, b) => Math.max(a, b), -1);
      expect(lastItemGet).toBeGreaterThan(-1);
      expect(lastItemGet).toBeLessThan(i);
    }

    // Nothing new: the next sweep makes no transaction and publishes nothing.
    const again = await stageFor(rig, { physicalInfo: false }).runOnce();
    expect(again).toMatchObject({ transactionsCommitted: 0, activityItemsFetched: 0, eventsPublished: 0 });
  });

  it('fetch > activity > a failed sub-resource leaves the transaction open; the next sweep fetches only what is missing, then commits', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, users: 1, dailyDaysAtRegistration: 2, legacyDaily: true });
    const user = rig.sim.accounts[0]!.polarUserId;
    rig.sim.injectFault({ path: /\/zone-samples$/, status: 500, times: 4 }); // the client's 3 retries are spent on one item
    const stage = stageFor(rig, { physicalInfo: false, transactional: ['activity'] });
    const first = await stage.runOnce();
    expect(first.transactionsLeftOpen).toBe(1);
    expect(first.transactionsCommitted).toBe(0);
    expect(first.errorsByCode).toMatchObject({ PL_ACCESSLINK_SERVER_ERROR: 1, PL_FETCH_TRANSACTION_INCOMPLETE: 1 });
    expect(rig.sim.legacyPending('activity', user)).toHaveLength(2);

    const second = await stage.runOnce();
    expect(second).toMatchObject({ transactionsCommitted: 1, transactionsLeftOpen: 0 });
    expect(rig.sim.legacyPending('activity', user)).toEqual([]);
    const itemGets = rig.sim.requestLog.filter((r) => r.method === 'GET' && /\/activities\/\d+$/.test(r.path) && r.status === 200);
    expect(itemGets).toHaveLength(2); // each summary downloaded once across both sweeps
    const events = await rig.events();
    expect(events.filter((e) => e.payload === 'activity_zones')).toHaveLength(2);
    expect(events.filter((e) => e.payload === 'activity')).toHaveLength(2);
  });

  it('fetch > activity > a re-synced day comes back in a new transaction and replaces the day\'s raw objects', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, users: 1, dailyDaysAtRegistration: 2, legacyDaily: true });
    const user = rig.sim.accounts[0]!.polarUserId;
    const stage = stageFor(rig, { physicalInfo: false, transactional: ['activity'] });
    await stage.runOnce();
    const day = rig.sim.dailyActivity(user)[0]!;
    const before = await read(rig, rawDailyKeyFor(user, 'activity', day.date));
    rig.sim.resyncDay(user, day.date, ['activity']);
    expect(rig.sim.legacyPending('activity', user)).toEqual([day.date]);
    const report = await stage.runOnce();
    expect(report).toMatchObject({ transactionsCommitted: 1, activityItemsFetched: 1 });
    const after = await read(rig, rawDailyKeyFor(user, 'activity', day.date));
    expect(after['active-steps']).toBe((before['active-steps'] as number) + 1500);
  });
});

describe('fetch > physical info', () => {
  it('fetch > physical > /v3/users/physical-info is stored once per snapshot, shared with the transactional item of the same snapshot', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, users: 2, dailyDaysAtRegistration: 1, legacyDaily: true });
    const stage = stageFor(rig, { transactional: ['physical'], physicalInfo: true });
    const first = await stage.runOnce();
    // Each user's first snapshot: stored once, though both channels show it.
    expect(first.physicalSnapshotsStored).toBe(2);
    expect((await rig.events()).filter((e) => e.payload === 'physical')).toHaveLength(2);
    const second = await stage.runOnce();
    expect(second.physicalSnapshotsStored).toBe(0);

    const user = rig.sim.accounts[1]!.polarUserId;
    rig.sim.changePhysicalInfo(user);
    const third = await stage.runOnce();
    expect(third.physicalSnapshotsStored).toBe(1);
    const physical = (await rig.events()).filter((e) => e.payload === 'physical' && e.user_id === user);
    expect(physical).toHaveLength(2);
    const latest = rig.sim.physicalInfo(user).at(-1)!;
    const stored = await read(rig, physical[1]!.raw_key);
    expect(stored['weight']).toBe(latest['weight']);
  });

  it('fetch > physical > a user with no physical information (404) is not an error', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, users: 1, dailyDaysAtRegistration: 1 });
    rig.sim.injectFault({ path: /^\/v3\/users\/physical-info$/, status: 404, times: 1, body: '{"status":404}' });
    const report = await stageFor(rig, { transactional: [], physicalInfo: true }).runOnce();
    expect(report).toMatchObject({ physicalSnapshotsStored: 0, payloadsAbsent: 1, errorsByCode: {} });
  });
});

describe('fetch > webhook events', () => {
  const event = (type: string, userId: string, fields: Partial<WebhookEvent> = {}): WebhookEvent => ({
    event: type, user_id: userId, entity_id: null, date: null, timestamp: new Date().toISOString(), ...fields,
  });

  it('fetch > events > each event type triggers the matching fetch for its user only; duplicates are harmless', async () => {
    rig = await startFetchRig({ exercisesPerUser: 1, users: 2, dailyDaysAtRegistration: 3 });
    const [a, b] = rig.sim.accounts.map((x) => x.polarUserId) as [string, string];
    const stage = stageFor(rig, { daily: DAILY_KINDS.filter((k) => k !== 'activity_samples') }); // the default: series with the activity days
    const day = rig.sim.dailyActivity(a).at(-1)!.date;
    const mark = () => rig!.sim.requestLog.length;
    const since = (n: number) => rig!.sim.requestLog.slice(n).map((r) => `${r.method} ${r.path.replace(/\d{5,}/g, '#')}`);

    let n = mark();
    await stage.runEvents([event('ACTIVITY_SUMMARY', a, { date: day })]);
    const activityDay = since(n);
    expect(activityDay.sort()).toEqual([`GET /v3/users/activities/${day}`, `GET /v3/users/activities/${rig.sim.dailyActivity(a).at(-2)!.date}`].sort());
    const stored = await read(rig, rawDailyKeyFor(a, 'activity', day));
    expect(stored).toEqual(rig.sim.dailyActivity(a).at(-1)!.json); // with its step, zone and inactivity samples

    n = mark();
    await stage.runEvents([event('PHYSICAL_INFORMATION', b)]);
    expect(since(n)).toEqual(['GET /v3/users/physical-info']);

    const expected: Record<string, string[]> = {
      SLEEP: [`GET /v3/users/sleep/${day}`, `GET /v3/users/nightly-recharge/${day}`],
      CONTINUOUS_HEART_RATE: [`GET /v3/users/continuous-heart-rate/${day}`],
      SLEEP_WISE_ALERTNESS: ['GET /v3/users/sleepwise/alertness/date'],
      SLEEP_WISE_CIRCADIAN_BEDTIME: ['GET /v3/users/sleepwise/circadian-bedtime/date'],
    };
    for (const [type, requests] of Object.entries(expected)) {
      n = mark();
      await stage.runEvents([event(type, b, type.startsWith('SLEEP_WISE') ? { from: day, to: day } : { date: day })]);
      expect(since(n), type).toEqual(requests);
    }

    n = mark();
    const exercise = await stage.runEvents([event('EXERCISE', a, { entity_id: 'x' }), event('EXERCISE', a, { entity_id: 'x' })]);
    expect(exercise.exercisesFetched).toBe(1);
    expect(since(n).filter((r) => r.startsWith('POST'))).toEqual(['POST /v3/users/#/exercise-transactions', 'POST /v3/users/#/exercise-transactions']);

    // The same events again: requests, but nothing stored or published twice.
    const eventsBefore = (await rig.events()).length;
    const again = await stage.runEvents([event('ACTIVITY_SUMMARY', a, { date: day }), event('PHYSICAL_INFORMATION', b), event('EXERCISE', a)]);
    expect(again).toMatchObject({ eventsPublished: 0, daysStored: 0, physicalSnapshotsStored: 0 });
    expect((await rig.events()).length).toBe(eventsBefore);

    // Unknown users and unknown event types do nothing.
    n = mark();
    await stage.runEvents([event('ACTIVITY_SUMMARY', '999999', { date: day }), event('SOMETHING_NEW', a)]);
    expect(since(n)).toEqual([]);
  });
});

import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { rawDailyKeyFor } from '../../src/lake/raw-zone.ts';
import { createFetchStage } from '../../src/stages/fetch.ts';
import { linesLeakingSecrets, startFetchRig, type FetchRig } from '../helpers/fetch-fixture.ts';

let rig: FetchRig | undefined;
afterEach(async () => {
  if (rig) expect(linesLeakingSecrets(rig)).toEqual([]);
  await rig?.close();
  rig = undefined;
});

const stageFor = (r: FetchRig, daily: readonly ('activity' | 'sleep')[] = ['activity', 'sleep']) =>
  createFetchStage({ client: r.client, users: r.users, rawZone: r.rawZone, ledger: r.ledger, bus: r.bus, logger: r.logger, daily, payloads: ['summary'], physicalInfo: false });

describe('fetch > daily', () => {
  it('fetch > daily > stores and publishes each user\'s days and nights once, keyed by local date', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 4 });
    const report = await stageFor(rig).runOnce();
    const users = rig.sim.accounts.map((a) => a.polarUserId);
    const expected = users.flatMap((u) => [
      ...rig!.sim.dailyActivity(u).map((d) => ({ u, kind: 'activity' as const, d })),
      ...rig!.sim.sleepNights(u).map((d) => ({ u, kind: 'sleep' as const, d })),
    ]);
    expect(expected).toHaveLength(3 * 4 * 2);
    expect(report).toMatchObject({ dailyUsersSwept: 3, daysStored: expected.length, daysUnchanged: 0, eventsPublished: expected.length, errorsByCode: {} });

    const events = await rig.events();
    expect(events).toHaveLength(expected.length);
    for (const { u, kind, d } of expected) {
      const key = rawDailyKeyFor(u, kind, d.date);
      expect(key).toBe(`raw/daily/${kind}/user_id=${u}/date=${d.date}/${kind}.json.gz`);
      const mine = events.filter((e) => e.user_id === u && e.payload === kind && e.date === d.date);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ raw_key: key, exercise_id: d.date, feeds_samples: false });
      expect(JSON.parse(await text(rig.rawZone.open(key)))).toEqual(d.json);
    }
    // One list request per user and kind, no per-date requests (sleep's probe is off by default).
    const daily = rig.sim.requestLog.filter((r) => r.path.startsWith('/v3/users/activities') || r.path.startsWith('/v3/users/sleep'));
    expect(daily.map((r) => `${r.path} ${r.status}`).sort()).toEqual([
      ...Array(3).fill('/v3/users/activities 200'), ...Array(3).fill('/v3/users/sleep 200'),
    ]);
  });

  it('fetch > daily > a type\'s new days cost two ledger appends: the days stored (before publishing), then the days published with the sweep cursor', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 4 });
    const before = rig.ledger.appends;
    // One user at a time, so no append of one user is shared with another's (group commit).
    const stage = createFetchStage({ client: rig.client, users: rig.users, rawZone: rig.rawZone, ledger: rig.ledger, bus: rig.bus, logger: rig.logger, daily: ['activity', 'sleep'], payloads: ['summary'], physicalInfo: false, userConcurrency: 1 });
    const report = await stage.runOnce();
    expect(report.daysStored).toBe(3 * 4 * 2);
    expect(rig.ledger.appends - before).toBe(3 * 2 * 2);
    for (const account of rig.sim.accounts) {
      for (const kind of ['activity', 'sleep'] as const) {
        expect(rig.ledger.get(account.polarUserId, '@sweep', kind)).toMatchObject({ state: 'swept' });
        for (const d of kind === 'activity' ? rig.sim.dailyActivity(account.polarUserId) : rig.sim.sleepNights(account.polarUserId)) {
          expect(rig.ledger.get(account.polarUserId, d.date, kind)).toMatchObject({ state: 'published' });
        }
      }
    }
  });

  it('fetch > daily > an unchanged day is neither stored nor published again; a re-synced day is, under the same key', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 3 });
    const stage = stageFor(rig);
    const first = await stage.runOnce();
    const user = rig.sim.accounts[2]!.polarUserId;
    const day = rig.sim.dailyActivity(user)[1]!;
    const key = rawDailyKeyFor(user, 'activity', day.date);
    const oldSteps = (JSON.parse(await text(rig.rawZone.open(key))) as { steps: number }).steps;

    const second = await stage.runOnce();
    expect(second).toMatchObject({ daysStored: 0, daysUnchanged: first.daysStored, eventsPublished: 0 });
    expect(await rig.events()).toHaveLength(first.eventsPublished);

    rig.sim.resyncDay(user, day.date, ['activity']);
    const third = await stage.runOnce();
    expect(third).toMatchObject({ daysStored: 1, daysUnchanged: first.daysStored - 1, eventsPublished: 1 });
    const events = await rig.events();
    const last = events.at(-1)!;
    expect(last).toMatchObject({ user_id: user, payload: 'activity', date: day.date, raw_key: key });
    expect(last.sha256).not.toBe(events.find((e) => e.raw_key === key)!.sha256);
    // The raw zone keeps the latest version of the day under the same key.
    expect((JSON.parse(await text(rig.rawZone.open(key))) as { steps: number }).steps).toBeGreaterThan(oldSteps);
    expect(rig.ledger.get(user, day.date, 'activity')).toMatchObject({ state: 'published', sha256: last.sha256 });
  });

  it('fetch > daily > a 403 on one user\'s sleep list marks that user needs_consent; the other users are swept', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 2 });
    rig.sim.injectFault({ path: /^\/v3\/users\/sleep$/, status: 403, times: 1 });
    const first = await stageFor(rig).runOnce();
    expect(first.errorsByCode).toEqual({ PL_ACCESSLINK_CONSENT_REQUIRED: 1 });
    expect(first.daysStored).toBe(3 * 2 * 2 - 2); // one user's nights missing
    const status = rig.users.list().filter((u) => u.status !== 'active');
    expect(status).toHaveLength(1);
  });

  it('fetch > daily > fetch.daily [] turns the sweep off', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0 });
    const report = await stageFor(rig, []).runOnce();
    expect(report).toMatchObject({ dailyUsersSwept: 0, daysStored: 0 });
    expect(rig.sim.requestLog.some((r) => r.path.startsWith('/v3/users/activities'))).toBe(false);
  });
});

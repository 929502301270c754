import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { RawZoneWriteError, rawKeyFor, type RawZone } from '../../src/lake/raw-zone.ts';
import { createFetchStage } from '../../src/stages/fetch.ts';
import { createVirtualClock } from '../../src/clock.ts';
import type { SimulatorOptions } from '../../src/simulator/index.ts';
import { RIG_TRANSACTION_TTL_MS, linesLeakingSecrets, startFetchRig, type FetchRig } from '../helpers/fetch-fixture.ts';

let rig: FetchRig | undefined;
afterEach(async () => {
  if (rig) expect(linesLeakingSecrets(rig)).toEqual([]);
  await rig?.close();
  rig = undefined;
});

// These tests are about the exercise transactions; the daily sweep has its own (fetch-daily.test.ts).
const stageFor = (r: FetchRig, rawZone: RawZone = r.rawZone) =>
  createFetchStage({ client: r.client, users: r.users, rawZone, ledger: r.ledger, bus: r.bus, logger: r.logger, daily: [] });

/** The API's own payloads every simulated exercise has: its sample series, and its zones unless Polar has none (204). */
const detailPayloads = (ex: { hasZones: boolean }) => ['samples', ...(ex.hasZones ? ['zones'] : [])];
const countTrackpoints = (xml: string) => (xml.match(/<Trackpoint>/g) ?? []).length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A rig on a virtual clock: transaction lifetimes and rate-limit waits pass when the test says. */
const startVirtualRig = (options: SimulatorOptions = {}) => startFetchRig(options, true, { clock: createVirtualClock() });
/** Lets the simulator's uncommitted transactions lapse. */
const lapse = (r: FetchRig) => r.clock!.advance(RIG_TRANSACTION_TTL_MS + 1);

describe('fetch > stage > full run', () => {
  it('stores every payload of every exercise, publishes one event per payload, then commits', async () => {
    rig = await startVirtualRig();
    const expected = rig.sim.pendingExercises();
    expect(expected.length).toBe(9);
    const report = await stageFor(rig).runOnce();

    expect(rig.sim.pendingExercises()).toEqual([]);
    expect(rig.sim.committedExercises().map((e) => e.exerciseId).sort()).toEqual(expected.map((e) => e.exerciseId).sort());
    const events = await rig.events();
    const expectedPayloads = expected.reduce((n, e) => n + 1 + (e.hasTcx ? 1 : 0) + (e.hasGpx ? 1 : 0) + detailPayloads(e).length, 0);
    expect(events).toHaveLength(expectedPayloads);
    expect(report).toMatchObject({ usersPolled: 3, transactionsCommitted: 3, transactionsLeftOpen: 0, exercisesFetched: 9, payloadsStored: expectedPayloads, eventsPublished: expectedPayloads, errorsByCode: {} });

    for (const ex of expected) {
      const mine = events.filter((e) => e.exercise_id === ex.exerciseId);
      expect(mine.every((e) => e.user_id === ex.userId && e.utc_offset_min === ex.utcOffsetMin)).toBe(true);
      expect(mine.map((e) => e.payload).sort()).toEqual(['summary', ...(ex.hasTcx ? ['tcx'] : []), ...(ex.hasGpx ? ['gpx'] : []), ...detailPayloads(ex)].sort());
      // One feeder per exercise with a file: TCX before GPX (the simulator has no FIT).
      const feeders = mine.filter((e) => e.feeds_samples).map((e) => e.payload);
      expect(feeders).toEqual(ex.hasTcx ? ['tcx'] : ex.hasGpx ? ['gpx'] : []);
      if (ex.hasTcx) {
        const tcx = await text(rig.rawZone.open(rawKeyFor(ex.userId, ex.exerciseId, 'tcx')));
        expect(countTrackpoints(tcx)).toBe(ex.trackpoints);
      }
      const summary = JSON.parse(await text(rig.rawZone.open(rawKeyFor(ex.userId, ex.exerciseId, 'summary')))) as Record<string, unknown>;
      expect(String(summary['id'])).toBe(ex.exerciseId);
    }
    // The next poll finds nothing: no notification, no request beyond it.
    const before = rig.sim.requestLog.length;
    const second = await stageFor(rig).runOnce();
    expect(second.usersPolled).toBe(0);
    expect(rig.sim.requestLog.slice(before).map((r) => r.path)).toEqual(['/v3/notifications']);
  });
});

describe('fetch > stage > a payload fails to store', () => {
  it('leaves the transaction uncommitted, and the exercise arrives complete on the next poll after the TTL', async () => {
    rig = await startVirtualRig();
    const user = rig.sim.accounts[0]!.polarUserId;
    const victim = rig.sim.pendingExercises(user).find((e) => e.hasTcx)!;
    const victimKey = rawKeyFor(user, victim.exerciseId, 'tcx');
    let failures = 0;
    const flaky: RawZone = {
      ...rig.rawZone,
      put: async (key, body) => {
        if (key === victimKey && failures === 0) {
          failures++;
          if (body instanceof Readable) body.destroy();
          throw new RawZoneWriteError(key, { cause: new Error('disk full (injected)') });
        }
        return rig!.rawZone.put(key, body);
      },
    };
    const stage = stageFor(rig, flaky);
    const first = await stage.runOnce();
    expect(failures).toBe(1);
    expect(first.transactionsLeftOpen).toBe(1);
    expect(first.transactionsCommitted).toBe(2);
    expect(first.errorsByCode['PL_RAW_WRITE_FAILED']).toBe(1);
    // Nothing of that user was committed: Polar still holds every item of the transaction.
    expect(rig.sim.pendingExercises(user).map((e) => e.exerciseId)).toContain(victim.exerciseId);
    expect(rig.sim.committedExercises(user)).toEqual([]);
    expect((await rig.events()).filter((e) => e.exercise_id === victim.exerciseId)).toEqual([]);
    expect(rig.logLines.some((l) => l.includes('"fetch.transaction.left_open"'))).toBe(true);

    lapse(rig); // let the uncommitted transaction lapse
    const second = await stage.runOnce();
    expect(second.transactionsCommitted).toBe(1);
    expect(rig.sim.pendingExercises()).toEqual([]);
    expect(rig.sim.committedExercises(user).map((e) => e.exerciseId)).toContain(victim.exerciseId);
    const tcx = await text(rig.rawZone.open(victimKey));
    expect(countTrackpoints(tcx)).toBe(victim.trackpoints);
    const victimEvents = (await rig.events()).filter((e) => e.exercise_id === victim.exerciseId);
    expect(victimEvents.map((e) => e.payload).sort()).toEqual(['summary', 'tcx', ...(victim.hasGpx ? ['gpx'] : []), ...detailPayloads(victim)].sort());

    // The ledger kept the second poll from downloading what the first one stored.
    const gets = (suffix: RegExp) => rig!.sim.requestLog.filter((r) => r.method === 'GET' && suffix.test(r.path) && r.status === 200).length;
    for (const ex of rig.sim.committedExercises(user)) {
      expect(gets(new RegExp(`/exercises/${ex.exerciseId}$`))).toBe(1);
      // The victim's TCX was downloaded again after its store failed; every other file once.
      if (ex.hasTcx && ex.exerciseId !== victim.exerciseId) expect(gets(new RegExp(`/exercises/${ex.exerciseId}/tcx$`))).toBe(1);
    }
    expect(second.payloadsSkipped).toBeGreaterThan(0);
    // Every payload was published exactly once overall.
    const all = await rig.events();
    expect(new Set(all.map((e) => e.raw_key)).size).toBe(all.length);
  });
});

describe('fetch > stage > ledger', () => {
  it('a re-offered item whose payloads are stored and published is not downloaded or published again', async () => {
    rig = await startVirtualRig({ users: 1, exercisesPerUser: 2 });
    const user = rig.sim.accounts[0]!.polarUserId;
    // The commit fails once (503 then nothing retried beyond the budget): the items come back.
    rig.sim.injectFault({ method: 'PUT', path: /exercise-transactions\/\d+$/, status: 503, times: 4 });
    const first = await stageFor(rig).runOnce();
    expect(first.transactionsLeftOpen).toBe(1);
    expect(rig.sim.pendingExercises(user)).toHaveLength(2);
    const eventsAfterFirst = (await rig.events()).length;
    const fileGets = () => rig!.sim.requestLog.filter((r) => r.method === 'GET' && /\/exercises\/\d+(\/(tcx|gpx|fit))?$/.test(r.path)).length;
    const getsAfterFirst = fileGets();

    lapse(rig);
    const second = await stageFor(rig).runOnce();
    expect(second.transactionsCommitted).toBe(1);
    expect(rig.sim.pendingExercises(user)).toEqual([]);
    expect(fileGets()).toBe(getsAfterFirst);
    expect((await rig.events()).length).toBe(eventsAfterFirst);
    expect(second.payloadsStored).toBe(0);
  });
});

describe('fetch > stage > feeds_samples', () => {
  it('a file that appears on a re-offer does not become a second samples feeder', async () => {
    rig = await startVirtualRig({ users: 1, exercisesPerUser: 3 });
    const ex = rig.sim.pendingExercises().find((e) => e.hasTcx && e.hasGpx)!;
    // First offer: the TCX answers 404 (as an expiring transaction does) and the commit fails.
    rig.sim.injectFault({ method: 'GET', path: new RegExp(`/exercises/${ex.exerciseId}/tcx$`), status: 404, times: 1 });
    rig.sim.injectFault({ method: 'PUT', path: /exercise-transactions\/\d+$/, status: 503, times: 4 });
    const first = await stageFor(rig).runOnce();
    expect(first.transactionsLeftOpen).toBe(1);
    const firstEvents = (await rig.events()).filter((e) => e.exercise_id === ex.exerciseId);
    const detail = detailPayloads(ex).map((p) => [p, false]);
    expect(firstEvents.map((e) => [e.payload, e.feeds_samples])).toEqual([['summary', false], ['gpx', true], ...detail]);

    lapse(rig);
    const second = await stageFor(rig).runOnce();
    expect(second.transactionsCommitted).toBe(1);
    const all = (await rig.events()).filter((e) => e.exercise_id === ex.exerciseId);
    expect(all.map((e) => [e.payload, e.feeds_samples])).toEqual([['summary', false], ['gpx', true], ...detail, ['tcx', false]]);
    for (const other of rig.sim.committedExercises()) {
      const feeders = (await rig.events()).filter((e) => e.exercise_id === other.exerciseId && e.feeds_samples);
      expect(feeders.length, other.exerciseId).toBe(other.hasTcx || other.hasGpx ? 1 : 0);
    }
  });
});

describe('fetch > stage > errors', () => {
  it('401 marks the user needs_reauth without a retry, and later polls skip them', async () => {
    rig = await startVirtualRig({ users: 2 });
    const [a, b] = rig.sim.accounts.map((x) => x.polarUserId) as [string, string];
    const createPath = new RegExp(`^/v3/users/${a}/exercise-transactions$`);
    rig.sim.injectFault({ method: 'POST', path: createPath, status: 401, times: 5 });
    const first = await stageFor(rig).runOnce();
    expect(first.errorsByCode['PL_ACCESSLINK_UNAUTHORIZED']).toBe(1);
    expect(rig.users.get(a)).toMatchObject({ status: 'needs_reauth', statusReason: 'PL_ACCESSLINK_UNAUTHORIZED' });
    expect(rig.users.get(b)?.status).toBe('active');
    const creates = () => rig!.sim.requestLog.filter((r) => r.method === 'POST' && createPath.test(r.path)).length;
    expect(creates()).toBe(1);
    expect(rig.sim.committedExercises(b)).toHaveLength(3);

    const second = await stageFor(rig).runOnce();
    expect(creates()).toBe(1);
    expect(second.usersPolled).toBe(0);
    expect(rig.logLines.some((l) => l.includes('"fetch.user.skipped"') && l.includes('needs_reauth'))).toBe(true);
  });

  it('403 marks the user needs_consent', async () => {
    rig = await startVirtualRig({ users: 1 });
    const a = rig.sim.accounts[0]!.polarUserId;
    rig.sim.injectFault({ method: 'POST', path: /exercise-transactions$/, status: 403, times: 1, body: '{"status":403,"corrId":"corr-403"}' });
    const report = await stageFor(rig).runOnce();
    expect(report.errorsByCode['PL_ACCESSLINK_CONSENT_REQUIRED']).toBe(1);
    expect(rig.users.get(a)?.status).toBe('needs_consent');
    expect(rig.logLines.some((l) => l.includes('corr-403'))).toBe(true);
  });

  it('a 5xx on a file is retried and the run completes', async () => {
    rig = await startVirtualRig({ users: 1 });
    const ex = rig.sim.pendingExercises().find((e) => e.hasTcx)!;
    const tcxPath = new RegExp(`/exercises/${ex.exerciseId}/tcx$`);
    rig.sim.injectFault({ path: tcxPath, status: 503, times: 2 });
    const report = await stageFor(rig).runOnce();
    expect(report.transactionsCommitted).toBe(1);
    expect(rig.sim.requestLog.filter((r) => tcxPath.test(r.path)).map((r) => r.status)).toEqual([503, 503, 200]);
    expect(rig.logLines.filter((l) => l.includes('"accesslink.request.retried"'))).toHaveLength(2);
  });

  it('a 429 holds the queue until RateLimit-Reset, then succeeds', async () => {
    rig = await startVirtualRig({ users: 1 });
    rig.sim.injectFault({
      method: 'POST', path: /exercise-transactions$/, status: 429, times: 1,
      headers: { 'RateLimit-Usage': '501, 900', 'RateLimit-Limit': '500, 5000', 'RateLimit-Reset': '1, 3600' },
    });
    const started = rig.clock!.now();
    const report = await stageFor(rig).runOnce();
    const elapsedMs = rig.clock!.now() - started;
    expect(report.transactionsCommitted).toBe(1);
    const statuses = rig.sim.requestLog.filter((r) => r.method === 'POST' && /exercise-transactions$/.test(r.path)).map((r) => r.status);
    expect(statuses.slice(0, 2)).toEqual([429, 201]);
    // Retried only after the 1 s reset the response asked for (back-off alone is 1-20 ms here).
    expect(elapsedMs).toBeGreaterThanOrEqual(1000);
  });
});

describe('fetch > stage > schedule', () => {
  it('runs on a cron tick and never overlaps a run in progress', async () => {
    rig = await startFetchRig({ users: 1 });
    const stage = stageFor(rig);
    const handle = stage.startSchedule('* * * * * *');
    try {
      for (let i = 0; i < 40 && rig.sim.pendingExercises().length > 0; i++) await sleep(100);
      expect(rig.sim.pendingExercises()).toEqual([]);
    } finally {
      handle.stop();
    }
    expect(() => stage.startSchedule('not a cron')).toThrow(/invalid cron/);
  });
});

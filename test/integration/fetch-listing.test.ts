/**
 * The listing exercise channel (`fetch.exercise_channel: listing`) against the simulator over
 * real HTTP: `GET /v3/exercises` per user, files by hashed id, the ledger making each item
 * fetched once, retries of failed exercises on the next sweep, and the lake (embedded bus,
 * parse, sink, DuckDB) holding exactly the simulator's trackpoints.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enrolUser } from '../../src/accesslink/enrol.ts';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { rawKeyFor } from '../../src/lake/raw-zone.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { hashedExerciseId } from '../../src/simulator/exercises.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { createFetchStage, type FetchStageOptions } from '../../src/stages/fetch.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { linesLeakingSecrets, startFetchRig, type FetchRig } from '../helpers/fetch-fixture.ts';
import { lakeFacts } from './pipeline-e2e.ts';
import { accessLinkSettings } from '../helpers/simulator-app.ts';

let rig: FetchRig | undefined;
afterEach(async () => {
  if (rig) expect(linesLeakingSecrets(rig)).toEqual([]);
  await rig?.close();
  rig = undefined;
});

const stageFor = (r: FetchRig, extra: Partial<FetchStageOptions> = {}) =>
  createFetchStage({ client: r.client, users: r.users, rawZone: r.rawZone, ledger: r.ledger, bus: r.bus, logger: r.logger, daily: [], exerciseChannel: 'listing', ...extra });

const countTrackpoints = (xml: string) => (xml.match(/<Trackpoint>/g) ?? []).length;
const payloadsOf = (ex: { hasTcx: boolean; hasGpx: boolean; hasFit: boolean }) =>
  ['summary', ...(ex.hasTcx ? ['tcx'] : []), ...(ex.hasGpx ? ['gpx'] : []), ...(ex.hasFit ? ['fit'] : [])].sort();
/** Trackpoints the lake must hold: an exercise without any file (indoor, no FIT) has a summary row and no samples. */
const samplesOf = (exercises: readonly { trackpoints: number; hasTcx: boolean; hasGpx: boolean; hasFit: boolean }[]) =>
  exercises.filter((e) => e.hasTcx || e.hasGpx || e.hasFit).reduce((sum, e) => sum + e.trackpoints, 0);
/** Successful GETs of a path, from the simulator's request log. */
const gets = (r: FetchRig, path: RegExp) => r.sim.requestLog.filter((q) => q.method === 'GET' && path.test(q.path) && q.status === 200).length;

describe('fetch > listing > full sweep', () => {
  it('stores every payload of every listed exercise once, under its hashed id, and commits nothing', async () => {
    rig = await startFetchRig();
    const expected = rig.sim.pendingExercises();
    expect(expected).toHaveLength(9);
    const report = await stageFor(rig).runOnce();

    const events = await rig.events();
    const expectedPayloads = expected.reduce((n, e) => n + payloadsOf(e).length, 0);
    expect(events).toHaveLength(expectedPayloads);
    expect(report).toMatchObject({ listingUsersSwept: 3, usersPolled: 0, exercisesFetched: 9, exercisesSkipped: 0, exercisesFailed: 0, payloadsStored: expectedPayloads, eventsPublished: expectedPayloads, errorsByCode: {} });
    // The transactional exercise channel is not touched: no transaction, no commit. (Notifications are
    // still read once per run, for the activity and physical-information transactions.)
    expect(rig.sim.requestLog.filter((q) => /exercise-transactions/.test(q.path))).toEqual([]);
    expect(rig.sim.requestLog.filter((q) => /notifications/.test(q.path))).toHaveLength(1);
    expect(rig.sim.committedExercises()).toEqual([]);

    for (const ex of expected) {
      const id = hashedExerciseId(ex.exerciseId);
      const mine = events.filter((e) => e.exercise_id === id);
      expect(mine.every((e) => e.user_id === ex.userId && e.utc_offset_min === ex.utcOffsetMin)).toBe(true);
      expect(mine.map((e) => e.payload).sort()).toEqual(payloadsOf(ex));
      expect(mine.filter((e) => e.feeds_samples).map((e) => e.payload)).toEqual(ex.hasTcx ? ['tcx'] : ex.hasGpx ? ['gpx'] : []);
      if (ex.hasTcx) {
        expect(countTrackpoints(await text(rig.rawZone.open(rawKeyFor(ex.userId, id, 'tcx'))))).toBe(ex.trackpoints);
        expect(gets(rig, new RegExp(`^/v3/exercises/${id}/tcx$`))).toBe(1);
      }
      // The summary is the list item, not fetched on its own.
      expect(gets(rig, new RegExp(`^/v3/exercises/${id}$`))).toBe(0);
    }

    // Each stored summary is its list item byte for byte (snake_case, hashed id), with the
    // series, zones and route inline: per user the plain list, then (something being new) the
    // list with them inline; none per exercise for them.
    const uid = rig.sim.accounts[0]!.polarUserId;
    expect(rig.sim.requestLog.filter((q) => q.path === '/v3/exercises')).toHaveLength(6);
    expect(rig.sim.requestLog.filter((q) => /samples|heart-rate-zones/.test(q.path))).toEqual([]);
    const response = await fetch(`${rig.sim.apiBaseUrl}/v3/exercises?samples=true&zones=true&route=true`, { headers: { authorization: `Bearer ${rig.users.accessToken(uid)}` } });
    const list = (await response.json()) as Record<string, unknown>[];
    expect(list.length).toBe(3);
    for (const item of list) {
      const stored = await text(rig.rawZone.open(rawKeyFor(uid, String(item['id']), 'summary')));
      expect(stored).toBe(JSON.stringify(item));
      expect(stored).toContain('"start_time_utc_offset"');
    }
  });

  it('a second sweep lists each user once and downloads and publishes nothing', async () => {
    rig = await startFetchRig();
    const stage = stageFor(rig);
    await stage.runOnce();
    const eventsBefore = (await rig.events()).length;
    const requestsBefore = rig.sim.requestLog.length;
    const second = await stage.runOnce();
    expect(rig.sim.requestLog.slice(requestsBefore).map((q) => `${q.method} ${q.path} ${q.status}`)).toEqual([...Array(3).fill('GET /v3/exercises 200'), 'GET /v3/notifications 200']);
    expect(second).toMatchObject({ exercisesFetched: 0, exercisesSkipped: 9, payloadsStored: 0, eventsPublished: 0, errorsByCode: {} });
    expect((await rig.events()).length).toBe(eventsBefore);
  });

  it('FIT files are fetched and feed the samples when the API has them', async () => {
    rig = await startFetchRig({ users: 1, exercisesPerUser: 3, fitFiles: true });
    const expected = rig.sim.pendingExercises();
    expect(expected.some((e) => e.hasFit)).toBe(true);
    await stageFor(rig).runOnce();
    const events = await rig.events();
    for (const ex of expected) {
      const mine = events.filter((e) => e.exercise_id === hashedExerciseId(ex.exerciseId));
      expect(mine.map((e) => e.payload).sort()).toEqual(payloadsOf(ex));
      expect(mine.filter((e) => e.feeds_samples).map((e) => e.payload)).toEqual(ex.hasFit ? ['fit'] : ex.hasTcx ? ['tcx'] : ex.hasGpx ? ['gpx'] : []);
    }
  });
});

describe('fetch > listing > a file fails', () => {
  it('the exercise stays incomplete, arrives complete on the next sweep, and nothing is doubled', async () => {
    rig = await startFetchRig({ users: 1, exercisesPerUser: 4 });
    const victim = rig.sim.pendingExercises().find((e) => e.hasTcx)!;
    const id = hashedExerciseId(victim.exerciseId);
    const tcxPath = new RegExp(`^/v3/exercises/${id}/tcx$`);
    // More 503s than the client's retry budget (3 retries): the request fails for this sweep.
    rig.sim.injectFault({ method: 'GET', path: tcxPath, status: 503, times: 4 });
    const stage = stageFor(rig);
    const first = await stage.runOnce();
    expect(first).toMatchObject({ exercisesFetched: 3, exercisesFailed: 1 });
    expect(first.errorsByCode).toEqual({ PL_ACCESSLINK_SERVER_ERROR: 1 });
    expect((await rig.events()).filter((e) => e.exercise_id === id)).toEqual([]);
    expect(rig.logLines.some((l) => l.includes('"fetch.exercise.failed"') && l.includes(id))).toBe(true);
    // Uploaded just now: far from the end of the window, so no alert.
    expect(rig.logLines.some((l) => l.includes('exercise_leaving_window'))).toBe(false);

    const second = await stage.runOnce();
    expect(second).toMatchObject({ exercisesFetched: 1, exercisesSkipped: 3, exercisesFailed: 0, errorsByCode: {} });
    expect(second.payloadsSkipped).toBe(1); // the summary stored by the first sweep
    const all = await rig.events();
    expect(all.filter((e) => e.exercise_id === id).map((e) => [e.payload, e.feeds_samples]).sort()).toEqual(
      payloadsOf(victim).map((p) => [p, p === 'tcx']).sort(),
    );
    expect(countTrackpoints(await text(rig.rawZone.open(rawKeyFor(victim.userId, id, 'tcx'))))).toBe(victim.trackpoints);
    expect(gets(rig, tcxPath)).toBe(1);
    expect(new Set(all.map((e) => e.raw_key)).size).toBe(all.length);
    expect(all.filter((e) => e.feeds_samples)).toHaveLength(rig.sim.pendingExercises().filter((e) => e.hasTcx || e.hasGpx).length);
  });

  it('a failure of an exercise uploaded more than 25 days ago is a typed alert', async () => {
    rig = await startFetchRig({ users: 1, exercisesPerUser: 2 });
    const victim = rig.sim.pendingExercises().find((e) => e.hasTcx)!;
    const id = hashedExerciseId(victim.exerciseId);
    rig.sim.injectFault({ method: 'GET', path: new RegExp(`^/v3/exercises/${id}/tcx$`), status: 503, times: 4 });
    // The stage's clock runs 26 days ahead of the simulator's, which still lists the exercise.
    const report = await stageFor(rig, { now: () => new Date(Date.now() + 26 * 86_400_000) }).runOnce();
    expect(report.errorsByCode).toEqual({ PL_ACCESSLINK_SERVER_ERROR: 1, PL_FETCH_EXERCISE_LEAVING_WINDOW: 1 });
    const alert = rig.logLines.find((l) => l.includes('"fetch.listing.exercise_leaving_window"'));
    expect(alert).toBeDefined();
    expect(JSON.parse(alert!)).toMatchObject({ level: 'warn', user_id: victim.userId, exercise_id: id, age_days: 26 });
  });

  it('a 404 on a file is recorded absent and not asked for again', async () => {
    rig = await startFetchRig({ users: 1, exercisesPerUser: 3 });
    const ex = rig.sim.pendingExercises().find((e) => e.hasTcx && e.hasGpx)!;
    const id = hashedExerciseId(ex.exerciseId);
    const tcxPath = new RegExp(`^/v3/exercises/${id}/tcx$`);
    rig.sim.injectFault({ method: 'GET', path: tcxPath, status: 404, times: 1 });
    const stage = stageFor(rig);
    await stage.runOnce();
    await stage.runOnce();
    expect(rig.sim.requestLog.filter((q) => tcxPath.test(q.path)).map((q) => q.status)).toEqual([404]);
    const mine = (await rig.events()).filter((e) => e.exercise_id === id);
    expect(mine.map((e) => [e.payload, e.feeds_samples]).sort()).toEqual([['gpx', true], ['summary', false]]);
  });
});

describe('fetch > listing > new uploads and users', () => {
  it('new uploads arrive on the next sweep and only they are downloaded', async () => {
    rig = await startFetchRig({ users: 2, exercisesPerUser: 2 });
    const stage = stageFor(rig);
    await stage.runOnce();
    const before = (await rig.events()).length;
    const uid = rig.sim.accounts[1]!.polarUserId;
    const added = rig.sim.uploadExercises(uid, 2);
    const report = await stage.runOnce();
    expect(report).toMatchObject({ exercisesFetched: 2, exercisesSkipped: 4 });
    const fresh = (await rig.events()).slice(before);
    expect(new Set(fresh.map((e) => e.exercise_id))).toEqual(new Set(added.map((e) => hashedExerciseId(e.exerciseId))));
    expect(fresh).toHaveLength(added.reduce((n, e) => n + payloadsOf(e).length, 0));
  });

  it('401 on the listing marks the user needs_reauth; the other users are swept', async () => {
    rig = await startFetchRig({ users: 2, exercisesPerUser: 1 });
    const [a, b] = rig.sim.accounts.map((x) => x.polarUserId) as [string, string];
    // The listing path names no user (the token does): fail whichever user's listing comes first.
    rig.sim.injectFault({ method: 'GET', path: /^\/v3\/exercises$/, status: 401, times: 1 });
    const report = await stageFor(rig, { userConcurrency: 1 }).runOnce();
    expect(report.errorsByCode).toEqual({ PL_ACCESSLINK_UNAUTHORIZED: 1 });
    expect(report.listingUsersSwept).toBe(1);
    const statuses = [rig.users.get(a)?.status, rig.users.get(b)?.status].sort();
    expect(statuses).toEqual(['active', 'needs_reauth']);
  });
});

describe('fetch > listing > lake', () => {
  let sim: Simulator;
  let dir: string;
  let base: AppOptions;
  let app: App;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-listing-'));
    sim = await startSimulator({ seed: 11, users: 3, exercisesPerUser: 4, durationRangeS: [600, 1500] });
    base = {
      lakeDir: join(dir, 'lake'),
      stateDir: join(dir, 'state'),
      kafkaBrokers: null,
      groupPrefix: `listing-${randomBytes(4).toString('hex')}`,
      pipeline: pipelineFromObject({ version: 1, name: 'listing', fetch: { exercise_channel: 'listing', daily: [] }, sink: { idle_flush_secs: 1 } }, 'listing'),
      logger: silentLogger,
      accesslink: accessLinkSettings(sim),
    };
    app = await createApp(base);
    for (const account of sim.accounts) {
      const { code } = await sim.approve(account.login, 'listing-state');
      await enrolUser({ oauth: app.oauth!, client: app.client!, users: app.users, code, memberId: `m-${account.login}` });
    }
    await app.startConsumers();
  });

  afterAll(async () => {
    await app?.close();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the lake holds exactly the simulator trackpoints of every listed exercise, once', async () => {
    const report = await app.runOnce();
    expect(report.exercisesFetched).toBe(12);
    const listed = sim.pendingExercises();
    expect(listed).toHaveLength(12);
    const facts = await lakeFacts(base.lakeDir);
    expect(facts.samples).toBe(samplesOf(listed));
    expect(facts.distinctSampleKeys).toBe(facts.samples);
    expect(facts.exercises).toBe(12);
    expect(facts.exerciseIds).toEqual(listed.map((e) => hashedExerciseId(e.exerciseId)).sort());
    expect(facts.laps).toBeGreaterThan(0);
    expect(app.parse.counters.deadLettered).toBe(0);
  });

  it('a second sweep changes nothing; new uploads add only their own rows', async () => {
    const before = await lakeFacts(base.lakeDir);
    const again = await app.runOnce();
    expect(again).toMatchObject({ exercisesFetched: 0, exercisesSkipped: 12, payloadsStored: 0 });
    expect(await lakeFacts(base.lakeDir)).toEqual(before);

    const added = sim.uploadExercises(sim.accounts[2]!.polarUserId, 2);
    await app.runOnce();
    const after = await lakeFacts(base.lakeDir);
    expect(samplesOf(added)).toBeGreaterThan(0);
    expect(after.samples - before.samples).toBe(samplesOf(added));
    expect(after.exercises).toBe(before.exercises + 2);
    expect(after.distinctSampleKeys).toBe(after.samples);
  });

  it('a replay from the raw zone leaves the lake unchanged', async () => {
    const before = await lakeFacts(base.lakeDir);
    expect(await app.replayRawZone()).toBeGreaterThan(0);
    await app.drain();
    expect(await lakeFacts(base.lakeDir)).toEqual(before);
  });
});

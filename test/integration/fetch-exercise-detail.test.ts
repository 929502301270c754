/**
 * Issue 8 (exercise side), the fetch stage: every exercise's sample series and heart-rate
 * zones are in the raw zone before its transaction is committed (they are gone with the
 * commit), each fetched once; the listing channel gets them, and the route, inline with its
 * one request per user.
 */
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { rawKeyFor } from '../../src/lake/raw-zone.ts';
import { hashedExerciseId } from '../../src/simulator/exercises.ts';
import { createFetchStage, type FetchStageOptions } from '../../src/stages/fetch.ts';
import { RIG_TRANSACTION_TTL_MS, linesLeakingSecrets, startFetchRig, type FetchRig } from '../helpers/fetch-fixture.ts';

let rig: FetchRig | undefined;
afterEach(async () => {
  if (rig) expect(linesLeakingSecrets(rig)).toEqual([]);
  await rig?.close();
  rig = undefined;
});

const stageFor = (r: FetchRig, extra: Partial<FetchStageOptions> = {}) =>
  createFetchStage({ client: r.client, users: r.users, rawZone: r.rawZone, ledger: r.ledger, bus: r.bus, logger: r.logger, daily: [], ...extra });
/** For tests that never wait for a transaction to lapse: a loaded CI machine may take longer than the rig's short TTL. */
const NO_LAPSE = { transactionTtlMs: 600_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const readJson = async (r: FetchRig, key: string) => JSON.parse(await text(r.rawZone.open(key))) as Record<string, unknown>;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('fetch > exercise detail > transactional', () => {
  it('stores samples and zones of every exercise before the commit, with exactly the requests the API needs', async () => {
    rig = await startFetchRig(NO_LAPSE);
    const expected = rig.sim.pendingExercises();
    await stageFor(rig).runOnce();
    expect(rig.sim.committedExercises()).toHaveLength(expected.length);
    const log = rig.sim.requestLog;

    for (const ex of expected) {
      const samples = await readJson(rig, rawKeyFor(ex.userId, ex.exerciseId, 'samples'));
      const series = samples['samples'] as Record<string, unknown>[];
      const types = series.map((s) => s['sample-type']);
      // Sample types are strings; RR (11) only for strap users, with no recording rate.
      expect(types.every((t) => typeof t === 'string')).toBe(true);
      expect(types.includes('11')).toBe(ex.hasStrap);
      for (const s of series) expect(s['recording-rate'] === null).toBe(s['sample-type'] === '11');
      const zonesKey = rawKeyFor(ex.userId, ex.exerciseId, 'zones');
      if (ex.hasZones) expect(((await readJson(rig, zonesKey))['zone'] as unknown[]).length).toBe(5);
      else expect(rig.ledger.get(ex.userId, ex.exerciseId, 'zones')?.state).toBe('absent');
      for (const p of ['samples', ...(ex.hasZones ? ['zones'] : [])] as ('samples' | 'zones')[]) expect(rig.ledger.get(ex.userId, ex.exerciseId, p)?.state).toBe('published');

      // Requests for this exercise: summary, tcx, gpx, fit, the samples list, one per sample
      // type, zones. Each asked once; no fewer is possible.
      const mine = log.filter((q) => new RegExp(`/exercises/${ex.exerciseId}(/|$)`).test(q.path));
      expect(mine.every((q) => q.method === 'GET')).toBe(true);
      expect(new Set(mine.map((q) => q.path)).size).toBe(mine.length);
      expect(mine).toHaveLength(4 + 1 + series.length + 1);
      // All of them before the PUT that committed its transaction (and deleted the data).
      const txPath = mine[0]!.path.replace(/\/exercises\/.*$/, '');
      const commitAt = log.findIndex((q) => q.method === 'PUT' && q.path === txPath);
      expect(commitAt).toBeGreaterThan(log.lastIndexOf(mine.at(-1)!));
    }
    // Committed means gone: the API answers 404 for the items now, and the lake has them.
    const ex = expected[0]!;
    const token = rig.users.accessToken(ex.userId);
    const gone = rig.sim.requestLog.find((q) => q.path.endsWith(`/exercises/${ex.exerciseId}/samples`))!.path;
    expect((await fetch(rig.sim.apiBaseUrl + gone, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  });

  it('a sample type that keeps failing leaves the transaction uncommitted; the next offer fetches only what is missing', async () => {
    rig = await startFetchRig({ users: 1, exercisesPerUser: 2 });
    const user = rig.sim.accounts[0]!.polarUserId;
    const victim = rig.sim.pendingExercises(user)[0]!;
    // Heart rate (type 0) answers 503 through every retry of the first run.
    rig.sim.injectFault({ method: 'GET', path: new RegExp(`/exercises/${victim.exerciseId}/samples/0$`), status: 503, times: 4 });
    const stage = stageFor(rig);
    const first = await stage.runOnce();
    expect(first.transactionsCommitted).toBe(0);
    expect(first.transactionsLeftOpen).toBe(1);
    expect(rig.sim.committedExercises(user)).toEqual([]);
    expect(rig.ledger.get(user, victim.exerciseId, 'samples')).toBeUndefined();
    expect(rig.ledger.get(user, victim.exerciseId, 'summary')?.state).toBe('stored');

    await sleep(RIG_TRANSACTION_TTL_MS + 100);
    const requestsBefore = rig.sim.requestLog.length;
    const second = await stage.runOnce();
    expect(second.transactionsCommitted).toBe(1);
    expect(rig.sim.pendingExercises(user)).toEqual([]);
    expect(rig.ledger.get(user, victim.exerciseId, 'samples')?.state).toBe('published');
    // Only what the first run did not store was fetched: the samples (list + types) and the
    // zones that come after them; summary and files came from the ledger.
    const again = rig.sim.requestLog.slice(requestsBefore).filter((q) => q.path.includes(`/exercises/${victim.exerciseId}`));
    expect(again.map((q) => q.path.replace(/^.*\/exercises\/\d+/, '')).every((p) => p.startsWith('/samples') || p === '/heart-rate-zones')).toBe(true);
    const series = (await readJson(rig, rawKeyFor(user, victim.exerciseId, 'samples')))['samples'] as unknown[];
    expect(again).toHaveLength(1 + series.length + 1);
    const all = await rig.events();
    expect(new Set(all.map((e) => e.raw_key)).size).toBe(all.length);
  });

  it('204 on the samples list or on zones is recorded absent and the transaction still commits', async () => {
    rig = await startFetchRig({ users: 1, exercisesPerUser: 1, ...NO_LAPSE });
    const ex = rig.sim.pendingExercises()[0]!;
    rig.sim.injectFault({ method: 'GET', path: new RegExp(`/exercises/${ex.exerciseId}/samples$`), status: 204 });
    rig.sim.injectFault({ method: 'GET', path: new RegExp(`/exercises/${ex.exerciseId}/heart-rate-zones$`), status: 204 });
    const report = await stageFor(rig).runOnce();
    expect(report.transactionsCommitted).toBe(1);
    expect(rig.ledger.get(ex.userId, ex.exerciseId, 'samples')?.state).toBe('absent');
    expect(rig.ledger.get(ex.userId, ex.exerciseId, 'zones')?.state).toBe('absent');
    expect(rig.sim.requestLog.filter((q) => /\/samples\/\d+$/.test(q.path))).toEqual([]);
  });

  it('payloads: [summary] fetches no samples or zones (the pipeline decides)', async () => {
    rig = await startFetchRig({ users: 1, exercisesPerUser: 2 });
    await stageFor(rig, { payloads: ['summary'] }).runOnce();
    expect(rig.sim.requestLog.filter((q) => /samples|heart-rate-zones/.test(q.path))).toEqual([]);
  });
});

describe('fetch > exercise detail > listing', () => {
  it('a sweep with new exercises lists once more with series, zones and route inline; nothing is requested per exercise for them', async () => {
    rig = await startFetchRig();
    const expected = rig.sim.pendingExercises();
    const report = await stageFor(rig, { exerciseChannel: 'listing' }).runOnce();
    expect(report.exercisesFetched).toBe(expected.length);
    const log = rig.sim.requestLog.filter((q) => q.path.startsWith('/v3/exercises'));
    // Per user: the plain list, and since it shows new exercises, the list with everything inline.
    expect(log.filter((q) => q.path === '/v3/exercises')).toHaveLength(2 * rig.sim.accounts.length);
    for (const ex of expected) {
      const id = hashedExerciseId(ex.exerciseId);
      const mine = log.filter((q) => q.path.startsWith(`/v3/exercises/${id}`));
      // Only the files: /tcx, /gpx and /fit, once each.
      expect(mine.map((q) => q.path.slice(`/v3/exercises/${id}`.length)).sort()).toEqual(['/fit', '/gpx', '/tcx']);
      const summary = await readJson(rig, rawKeyFor(ex.userId, id, 'summary'));
      const types = (summary['samples'] as Record<string, unknown>[]).map((s) => s['sample-type']);
      expect(types).toContain('0');
      expect(types.includes('11')).toBe(ex.hasStrap);
      if (ex.hasZones) expect(summary['heart_rate_zones']).toHaveLength(5);
      else expect(summary['heart_rate_zones']).toBeNull();
      if (ex.indoor) expect(summary).not.toHaveProperty('route');
      else expect((summary['route'] as Record<string, unknown>[])[ex.trackpoints - 1]).toMatchObject({ time: expect.stringMatching(/^PT/) });
      // Inline payloads are not ledger items: the exercise is complete once summary and files are.
      expect(rig.ledger.get(ex.userId, id, 'samples')).toBeUndefined();
    }
    // The next sweep has nothing new: one plain listing request per user, nothing else.
    const before = rig.sim.requestLog.length;
    const second = await stageFor(rig, { exerciseChannel: 'listing' }).runOnce();
    expect(second.exercisesSkipped).toBe(expected.length);
    // (The pull notifications are read on every run, for the activity and physical-information transactions.)
    expect(rig.sim.requestLog.slice(before).map((q) => q.path).filter((p) => p !== '/v3/notifications')).toEqual(rig.sim.accounts.map(() => '/v3/exercises'));
  });

  it('without samples, zones and route in the payloads the listing asks for none of them', async () => {
    rig = await startFetchRig({ users: 1, exercisesPerUser: 1 });
    await stageFor(rig, { exerciseChannel: 'listing', payloads: ['summary', 'tcx'] }).runOnce();
    const ex = rig.sim.pendingExercises()[0]!;
    const summary = await readJson(rig, rawKeyFor(ex.userId, hashedExerciseId(ex.exerciseId), 'summary'));
    for (const key of ['samples', 'heart_rate_zones', 'route']) expect(summary).not.toHaveProperty(key);
    expect(rig.sim.requestLog.filter((q) => new RegExp(`^/v3/exercises/${escape(hashedExerciseId(ex.exerciseId))}/(gpx|fit)`).test(q.path))).toEqual([]);
  });
});

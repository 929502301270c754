/**
 * Issue 7, the fetch side: each test is named after the defect it caught, and runs the fetch
 * stage against the simulator with its faults switched on, on a virtual clock.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../src/clock.ts';
import { rawKeyFor } from '../../src/lake/raw-zone.ts';
import type { SimulatorOptions } from '../../src/simulator/index.ts';
import { createFetchStage, type FetchReport } from '../../src/stages/fetch.ts';
import { RIG_TRANSACTION_TTL_MS, linesLeakingSecrets, startFetchRig, type FetchRig } from '../helpers/fetch-fixture.ts';

let rig: FetchRig | undefined;
afterEach(async () => {
  if (rig) expect(linesLeakingSecrets(rig)).toEqual([]);
  await rig?.close();
  rig = undefined;
});

const start = (options: SimulatorOptions = {}, client = {}) => startFetchRig({ users: 1, ...options }, true, { clock: createVirtualClock(), client });
const stageFor = (r: FetchRig) => createFetchStage({ client: r.client, users: r.users, rawZone: r.rawZone, ledger: r.ledger, bus: r.bus, logger: r.logger, daily: [] });
const trackpoints = (xml: string) => (xml.match(/<Trackpoint>/g) ?? []).length;
const infoLines = (r: FetchRig, event: string) =>
  r.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['level'] === 'info' && l['event'] === event);

/** Runs sweeps (a cron would), letting open transactions lapse in between, until nothing is pending. */
async function sweepUntilDone(r: FetchRig, maxSweeps = 30): Promise<FetchReport[]> {
  const reports: FetchReport[] = [];
  const stage = stageFor(r);
  for (let i = 0; i < maxSweeps && r.sim.pendingExercises().length > 0; i++) {
    reports.push(await stage.runOnce());
    r.clock!.advance(RIG_TRANSACTION_TTL_MS + 1);
  }
  return reports;
}

describe('fetch > issue 7 > a chunked 200 that ends cleanly but early was committed (6 of 17 exercises lost 13,805 samples)', () => {
  it('no transaction is committed before every payload went out whole, and every TCX lands with all its trackpoints', async () => {
    rig = await start({ exercisesPerUser: 17, fitFiles: true, faults: { seed: 7, truncateChunked: 0.3 } });
    const expected = rig.sim.pendingExercises();
    const first = await stageFor(rig).runOnce();
    // Whatever the first sweep left, the raw zone holds no cut object under a real key.
    for (const ex of expected.filter((e) => e.hasTcx)) {
      const key = rawKeyFor(ex.userId, ex.exerciseId, 'tcx');
      if (await rig.rawZone.exists(key)) expect(trackpoints(await text(rig.rawZone.open(key))), ex.exerciseId).toBe(ex.trackpoints);
    }
    rig.clock!.advance(RIG_TRANSACTION_TTL_MS + 1);
    await sweepUntilDone(rig);

    expect(rig.sim.faultsDealt().truncate_chunked).toBeGreaterThan(0);
    expect(first.payloadsStored).toBeGreaterThan(0);
    // Each cut body was a transient error, retried with back-off.
    expect(rig.logLines.filter((l) => l.includes('"accesslink.request.retried"') && l.includes('PL_ACCESSLINK_INCOMPLETE_BODY')).length).toBeGreaterThan(0);
    expect(rig.sim.pendingExercises()).toEqual([]);
    expect(rig.sim.commits.length).toBeGreaterThan(0);
    expect(rig.sim.commits.flatMap((c) => c.missing)).toEqual([]);
    let total = 0;
    for (const ex of expected.filter((e) => e.hasTcx)) {
      const n = trackpoints(await text(rig.rawZone.open(rawKeyFor(ex.userId, ex.exerciseId, 'tcx'))));
      expect(n, ex.exerciseId).toBe(ex.trackpoints);
      total += n;
    }
    expect(total).toBe(expected.filter((e) => e.hasTcx).reduce((n, e) => n + e.trackpoints, 0));
    for (const ex of expected) {
      const chunks: Buffer[] = [];
      for await (const c of rig.rawZone.open(rawKeyFor(ex.userId, ex.exerciseId, 'fit'))) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(await rig.sim.fileBytes(ex.userId, ex.exerciseId, 'fit')), ex.exerciseId).toBe(true);
    }
    const events = await rig.events();
    expect(new Set(events.map((e) => e.raw_key)).size).toBe(events.length);
  });
});

describe('fetch > issue 7 > after an expiry 404 the walk kept requesting every remaining item (283 wasted requests)', () => {
  it('the first 404 of an item in an expired transaction ends the walk: one probe, no further item requests', async () => {
    rig = await start({ exercisesPerUser: 20, faults: { seed: 1, expireTransaction: 1 } });
    const report = await stageFor(rig).runOnce();
    expect(report.transactionsExpired).toBe(1);
    expect(report.errorsByCode['PL_FETCH_TRANSACTION_EXPIRED']).toBe(1);
    const afterList = rig.sim.requestLog.slice(rig.sim.requestLog.findIndex((r) => r.method === 'GET' && /exercise-transactions\/\d+$/.test(r.path)) + 1);
    // One item (404: the transaction expired before it) and one GET of the transaction (404): nothing more.
    expect(afterList.map((r) => [r.method, r.path.replace(/\/\d+/g, '/N'), r.status])).toEqual([
      ['GET', '/v3/users/N/exercise-transactions/N/exercises/N', 404],
      ['GET', '/v3/users/N/exercise-transactions/N', 404],
    ]);
    expect(infoLines(rig, 'fetch.transaction.expired')).toHaveLength(1);

    rig.sim.setFaults(null);
    const next = await stageFor(rig).runOnce();
    expect(next.transactionsCommitted).toBe(1);
    expect(rig.sim.pendingExercises()).toEqual([]);
  });

  it('a 404 on a file of a live transaction is that file absent, not an expiry: the walk goes on', async () => {
    rig = await start({ exercisesPerUser: 3 });
    const ex = rig.sim.pendingExercises().find((e) => e.hasGpx)!;
    rig.sim.injectFault({ method: 'GET', path: new RegExp(`/exercises/${ex.exerciseId}/gpx$`), status: 404 });
    const report = await stageFor(rig).runOnce();
    expect(report.transactionsExpired).toBe(0);
    expect(report.transactionsCommitted).toBe(1);
  });
});

describe('fetch > issue 7 > the rate-limit window was waited out silently (12.7 minutes with no line at info)', () => {
  it('a 429 hold is logged at info with its reason, length and window, and waited on the virtual clock', async () => {
    rig = await start({ exercisesPerUser: 2 });
    rig.sim.injectFault({
      method: 'POST', path: /exercise-transactions$/, status: 429,
      headers: { 'RateLimit-Usage': '521, 900', 'RateLimit-Limit': '520, 5100', 'RateLimit-Reset': '762, 80000' },
    });
    const before = rig.clock!.now();
    const report = await stageFor(rig).runOnce();
    expect(report.transactionsCommitted).toBe(1);
    expect(rig.clock!.now() - before).toBeGreaterThanOrEqual(762_000);
    expect(infoLines(rig, 'accesslink.rate_limit.hold')).toEqual([
      expect.objectContaining({ reason: '429', wait_ms: 762_000, window: 'short_term', used: 521, limit: 520 }),
    ]);
  });
});

describe('fetch > issue 7 > an open transaction expired behind a rate-limit wait', () => {
  it('a transaction is not opened when the remaining budget cannot walk it; it is opened after the reset', async () => {
    rig = await start({ exercisesPerUser: 2 });
    const user = rig.sim.accounts[0]!.polarUserId;
    // The notifications answer says 950 of 1000 requests of the window are used, reset in 300 s: a walk needs a tenth of the window (100).
    rig.sim.injectFault({
      method: 'GET', path: /^\/v3\/notifications$/, status: 200,
      headers: { 'Content-Type': 'application/json', 'RateLimit-Usage': '950, 1000', 'RateLimit-Limit': '1000, 50000', 'RateLimit-Reset': '300, 80000' },
      body: JSON.stringify({ 'available-user-data': [{ 'user-id': Number(user), 'data-type': 'EXERCISE', url: `${rig.sim.apiBaseUrl}/v3/users/${user}/exercise-transactions` }] }),
    });
    const first = await stageFor(rig).runOnce();
    expect(first.transactionsDeferred).toBe(1);
    expect(rig.sim.requestLog.filter((r) => r.method === 'POST' && /exercise-transactions$/.test(r.path))).toEqual([]);
    expect(infoLines(rig, 'fetch.transaction.deferred')).toEqual([
      expect.objectContaining({ user_id: user, reason: 'rate_limit_budget', window: 'short_term', remaining: 50, needed: 100, wait_ms: 300_000 }),
    ]);
    rig.clock!.advance(300_000);
    const second = await stageFor(rig).runOnce();
    expect(second.transactionsCommitted).toBe(1);
    expect(rig.sim.pendingExercises()).toEqual([]);
  });
});

describe('fetch > issue 7 > *.tmp-* objects were left in the raw zone after crashes', () => {
  it('temp files of dead writers are removed on the first run; a live writer\'s are kept', async () => {
    rig = await start({ exercisesPerUser: 1 });
    const dir = join(rig.rawZone.rootDir, 'raw', 'exercises', 'user_id=1', 'exercise_id=2');
    await mkdir(dir, { recursive: true });
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(join(dir, `tcx.tcx.gz.tmp-${deadPid}-0123456789abcdef01234567`), 'half');
    await writeFile(join(dir, 'gpx.gpx.gz.tmp-a1b2c3d4e5f6'), 'half (old naming)');
    await writeFile(join(dir, `fit.fit.gz.tmp-${process.ppid}-0123456789abcdef01234567`), 'a live writer (the test runner)');
    await stageFor(rig).runOnce();
    expect((await readdir(dir)).sort()).toEqual([`fit.fit.gz.tmp-${process.ppid}-0123456789abcdef01234567`]);
    expect(infoLines(rig, 'fetch.raw.temporaries_removed')).toEqual([expect.objectContaining({ count: 2 })]);
  });
});

/**
 * Cardio-load history through `backfill` against the simulator: beyond the 28-day list, the
 * `/v3/users/cardio-load/period/{days|months}/{n}` call brings the older days in one request;
 * they land in cardio_load under the same keys as the daily sweep's, so a day both brought, or
 * one fetched again, is there once.
 */
import { mkdtemp } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRateLimitGate } from '../../src/accesslink/rate-limit.ts';
import { planBackfill, runBackfill, type BackfillDeps } from '../../src/jobs/backfill.ts';
import { createJobProgress } from '../../src/jobs/progress.ts';
import { addDays } from '../../src/stages/fetch-daily.ts';
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
const quiet = new Writable({ write: (_c, _e, cb) => cb() });
const progress = () => createJobProgress({ job: 'backfill', unit: 'user-types', stream: quiet, mode: 'silent' });
const cardioRequests = (r: FetchRig, from: number) => r.sim.requestLog.slice(from).filter((x) => x.path.startsWith('/v3/users/cardio-load')).map((x) => `${x.path} ${x.status}`);

describe('backfill > cardio load history', () => {
  it('backfill > cardio load history > the period call brings the days beyond 28 into cardio_load, each day once', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 45, users: 1, seed: 13 });
    lakeDir = await mkdtemp(join(tmpdir(), 'polar-lake-cardio-history-'));
    const user = rig.sim.accounts[0]!.polarUserId;
    const truth = () => new Map(rig!.sim.dateBasedDays(user, 'cardio_load').map((d) => [d.date, d.items[0]!]));
    expect(truth().size).toBe(45);
    const gate = createRateLimitGate();
    const deps: BackfillDeps = { client: rig.client, users: rig.users, rawZone: rig.rawZone, ledger: rig.ledger, bus: rig.bus, logger: rig.logger, now: () => NOW, exerciseChannel: 'listing', payloads: ['summary'] };

    // The daily sweep first: its list reaches 28 days back only.
    const sweep = await createFetchStage({ client: rig.client, users: rig.users, rawZone: rig.rawZone, ledger: rig.ledger, bus: rig.bus, logger: rig.logger, payloads: ['summary'], daily: ['cardio_load'], now: () => NOW }).runOnce();
    expect(sweep.errorsByCode).toEqual({});
    const swept = sweep.daysStored;
    expect(swept).toBeGreaterThan(25);
    expect(swept).toBeLessThan(45);

    // The dry run plans the history call: two years by months, or a narrower --since by days.
    expect(planBackfill({ types: ['cardio_load'] }, deps, gate).requests.map((r) => r.path)).toEqual(['/v3/users/cardio-load/period/months/27']);
    const oldest = [...truth().keys()][0]!;
    const today = NOW.toISOString().slice(0, 10);
    const sinceDays = Math.round((Date.parse(`${today}T00:00:00Z`) - Date.parse(`${oldest}T00:00:00Z`)) / 86_400_000) + 1;
    expect(planBackfill({ types: ['cardio_load'], since: oldest }, deps, gate).requests.map((r) => r.path)).toEqual([`/v3/users/cardio-load/period/days/${sinceDays}`]);
    // Within the window, the list as the sweep reads it.
    expect(planBackfill({ types: ['cardio_load'], since: addDays(today, -6) }, deps, gate).requests.map((r) => r.path)).toEqual(['/v3/users/cardio-load/date']);

    // One request for the whole history; the days the sweep had are already present.
    let mark = rig.sim.requestLog.length;
    const run = progress();
    await runBackfill({ types: ['cardio_load'] }, deps, run, gate);
    const summary = run.finish();
    expect(summary.failed_by_code).toEqual({});
    expect(cardioRequests(rig, mark)).toEqual(['/v3/users/cardio-load/period/months/27 200']);
    expect([summary.counts['days_stored'], summary.counts['days_already_present']]).toEqual([45 - swept, swept]);

    await parseAndSink(rig, lakeDir);
    const rows = await query(lakeDir, `SELECT local_date::VARCHAR AS d, cardio_load, cardio_load_status FROM cardio_load WHERE user_id = '${user}' ORDER BY d`);
    expect(rows.map((r) => r['d'])).toEqual([...truth().keys()]);
    for (const r of rows) expect([r['cardio_load'], r['cardio_load_status']]).toEqual([truth().get(r['d'] as string)!['cardio_load'], truth().get(r['d'] as string)!['cardio_load_status']]);

    // The oldest day changes at Polar: a backfill back to it replaces its row, never adds one.
    rig.sim.resyncDay(user, oldest, ['cardio_load']);
    mark = rig.sim.requestLog.length;
    const again = progress();
    await runBackfill({ types: ['cardio_load'], since: oldest }, deps, again, gate);
    expect(again.finish().counts['days_stored']).toBe(1);
    expect(cardioRequests(rig, mark)).toEqual([`/v3/users/cardio-load/period/days/${sinceDays} 200`]);
    await parseAndSink(rig, lakeDir);
    expect(await count(lakeDir, 'cardio_load')).toBe(45);
    expect(await count(lakeDir, 'cardio_load', `local_date = DATE '${oldest}' AND cardio_load = ${truth().get(oldest)!['cardio_load']}`)).toBe(1);
  });

  it('backfill > cardio load history > a period answer that is not a list of days is a typed error per item, nothing stored', async () => {
    rig = await startFetchRig({ exercisesPerUser: 0, dailyDaysAtRegistration: 2, users: 1 });
    const deps: BackfillDeps = { client: rig.client, users: rig.users, rawZone: rig.rawZone, ledger: rig.ledger, bus: rig.bus, logger: rig.logger, now: () => NOW, exerciseChannel: 'listing', payloads: ['summary'] };
    rig.sim.injectFault({ path: /^\/v3\/users\/cardio-load\/period\/months\/27$/, status: 200, body: '{"error": "nope"}', headers: { 'Content-Type': 'application/json' } });
    const run = progress();
    await runBackfill({ types: ['cardio_load'] }, deps, run, createRateLimitGate());
    const summary = run.finish();
    expect(summary.failed_by_code).toEqual({ PL_DAILY_INVALID: 1 });
    expect(summary.counts['days_stored'] ?? 0).toBe(0);
  });
});

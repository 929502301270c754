/**
 * `polar-lake backfill` against the simulator on the embedded bus: every type the API still
 * shows lands in the lake through the backfill lane, a re-run finds everything present, the
 * dry run makes no request, and bad options are typed errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolUser } from '../../src/accesslink/enrol.ts';
import { createAccessLinkClient } from '../../src/accesslink/client.ts';
import { createRateLimitGate } from '../../src/accesslink/rate-limit.ts';
import { createApp, type App } from '../../src/app.ts';
import { BackfillOptionError, formatBackfillPlan, planBackfill, runBackfill, type BackfillDeps } from '../../src/jobs/backfill.ts';
import { createJobProgress } from '../../src/jobs/progress.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { DAILY_KINDS } from '../../src/records/envelope.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { accessLinkSettings } from '../helpers/simulator-app.ts';

let dir: string;
let sim: Simulator;
let app: App;
let deps: BackfillDeps;
const gate = createRateLimitGate();

const quiet = new Writable({ write: (_c, _e, cb) => cb() });
const progress = () => createJobProgress({ job: 'backfill', unit: 'user-types', stream: quiet, mode: 'silent' });
const count = async (sql: string) => {
  const db = await openLakeViews(join(dir, 'lake'));
  try {
    return Number((await db.conn.runAndReadAll(sql)).getRowObjectsJS()[0]!['n']);
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'polar-lake-backfill-'));
  sim = await startSimulator({ seed: 21, users: 2, exercisesPerUser: 2, durationRangeS: [300, 600], dailyDaysAtRegistration: 10 });
  const accesslink = accessLinkSettings(sim);
  app = await createApp({
    lakeDir: join(dir, 'lake'), stateDir: join(dir, 'state'), logger: silentLogger, accesslink,
    pipeline: pipelineFromObject({ version: 1, name: 'backfill', fetch: { exercise_channel: 'listing' }, sink: { idle_flush_secs: 1 } }, 'backfill'),
  });
  for (const account of sim.accounts) {
    const { code } = await sim.approve(account.login, 'backfill-state');
    await enrolUser({ oauth: app.oauth!, client: app.client!, users: app.users, code, memberId: `m-${account.login}` });
  }
  await app.startConsumers();
  const client = createAccessLinkClient({ apiBaseUrl: accesslink.apiBaseUrl, clientId: accesslink.clientId, clientSecret: accesslink.clientSecret, rateLimitGate: gate, lane: 'backfill', logger: silentLogger });
  deps = { client, users: app.users, rawZone: app.rawZone, ledger: app.ledger, bus: app.bus, logger: silentLogger, now: () => new Date(), exerciseChannel: 'listing', payloads: ['summary', 'tcx', 'gpx', 'fit'] };
});

afterAll(async () => {
  await app?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('backfill', () => {
  it('backfill > the dry run plans every type over its window and makes no request', async () => {
    const before = sim.requestLog.length;
    const plan = planBackfill({}, deps, gate);
    expect(sim.requestLog.length).toBe(before);
    expect(plan.users).toHaveLength(2);
    expect(plan.types).toEqual(['exercises', ...DAILY_KINDS.filter((k) => k !== 'activity_samples'), 'physical']);
    const mine = plan.requests.filter((r) => r.userId === plan.users[0]);
    const activity = mine.filter((r) => r.type === 'activity');
    // 365 days in ranges of at most 28: 14 requests, each with the sample flags.
    expect(activity).toHaveLength(14);
    expect(activity.every((r) => r.query['steps'] === 'true' && r.query['from']! <= r.query['to']!)).toBe(true);
    expect(mine.filter((r) => r.type === 'exercises').map((r) => r.path)).toEqual(['/v3/exercises']);
    expect(mine.filter((r) => r.type === 'physical').map((r) => r.path)).toEqual(['/v3/users/physical-info']);
    expect(plan.budget).toEqual({ shortTerm: Math.floor((500 + 40) * 0.7), longTerm: Math.floor((5000 + 200) * 0.7), source: 'formula' });
    expect(plan.estimatedSeconds).toBe(0); // fits the current window

    // At an observed budget of 10 per 15 min, 7 for the backfill lane.
    const tight = createRateLimitGate();
    tight.observe({ shortTerm: { used: 0, limit: 10, resetSecs: 900 }, longTerm: { used: 0, limit: 100_000, resetSecs: 86_400 } });
    const slow = planBackfill({ types: ['activity'], since: '2000-01-01' }, deps, tight);
    expect(slow.requests).toHaveLength(28);
    expect(slow.estimatedSeconds).toBe(Math.floor(27 / 7) * 900);
    expect(formatBackfillPlan(slow)).toMatch(/28 request\(s\) for 2 user\(s\), types activity; backfill lane: 7\/15 min .*from the last RateLimit headers.*about 45 min/);
  });

  it('backfill > bad options are typed errors naming the option', () => {
    expect(() => planBackfill({ types: ['steps' as never] }, deps, gate)).toThrow(BackfillOptionError);
    expect(() => planBackfill({ since: '2025-13-45x' }, deps, gate)).toThrow(/--since/);
    expect(() => planBackfill({ users: ['123'] }, deps, gate)).toThrow(/--users: no enrolled user "123"/);
  });

  it('backfill > pulls every type into the lake in the backfill lane; a re-run finds everything present', async () => {
    const first = progress();
    await runBackfill({}, deps, first, gate);
    await app.drain();
    const summary = first.finish();
    expect(summary.failed_by_code).toEqual({});
    expect(summary.seen).toBe(2 * (DAILY_KINDS.length - 1 + 2)); // every type but activity_samples (its rows come with activity)
    expect(summary.counts['exercises_stored']).toBe(4);
    expect(summary.counts['snapshots_stored']).toBe(2);
    expect(summary.counts['days_stored']).toBeGreaterThanOrEqual(2 * 10 * 2); // at least activity and sleep for every day
    expect(gate.granted.backfill).toBeGreaterThan(0);
    expect(gate.granted.live).toBe(0);

    expect(await count('SELECT count(*) AS n FROM exercises')).toBe(4);
    expect(await count('SELECT count(*) AS n FROM daily_activity')).toBe(2 * 10);
    expect(await count('SELECT count(*) AS n FROM sleep')).toBe(2 * 10);
    expect(await count('SELECT count(*) AS n FROM physical_info')).toBe(2);
    expect(await count('SELECT count(DISTINCT (user_id, local_date)) AS n FROM activity_step_samples')).toBe(2 * 10);

    const requestsBefore = sim.requestLog.length;
    const second = progress();
    await runBackfill({}, deps, second, gate);
    await app.drain();
    const again = second.finish();
    expect(again.stored).toBe(0);
    expect(again.already_present).toBe(2 * (DAILY_KINDS.length - 1 + 2));
    expect(again.counts['days_stored']).toBe(0);
    expect(again.counts['exercises_already_present']).toBe(4);
    // Only list calls: no file, day or snapshot downloaded twice.
    const repeated = sim.requestLog.slice(requestsBefore);
    expect(repeated.some((r) => /\/(tcx|gpx|fit)$/.test(r.path))).toBe(false);
    expect(await count('SELECT count(*) AS n FROM daily_activity')).toBe(2 * 10);
  });

  it('backfill > with the transactional exercise channel, exercises are skipped and said so', () => {
    const plan = planBackfill({ types: ['exercises', 'physical'] }, { ...deps, exerciseChannel: 'transactional' }, gate);
    expect(plan.types).toEqual(['physical']);
    expect(plan.skipped).toEqual([{ type: 'exercises', reason: expect.stringMatching(/a second time/) }]);
  });
});

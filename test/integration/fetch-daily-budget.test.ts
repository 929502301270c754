/**
 * The date-based sweep under a rate-limit budget its schedule cannot fit (issue 8, item 8),
 * on a virtual clock against the simulator enforcing the limits with 429: the default
 * pipeline's schedule (every date-based type, physical info) asks 13 requests per user and run,
 * more than the windows hold. Users the budget cannot cover are deferred instead of requested
 * (no 429), the live share stays free, the stalest users go first next run, and the day's
 * window is spread over the day rather than spent at its start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../src/clock.ts';
import { dailySweepConfig } from '../../src/pipeline/data-types.ts';
import { DEFAULT_PIPELINE_FILE, loadPipeline } from '../../src/pipeline/load.ts';
import { SWEEP_CURSOR_ID } from '../../src/stages/fetch-daily.ts';
import { createFetchStage } from '../../src/stages/fetch.ts';
import { linesLeakingSecrets, startFetchRig, type FetchRig } from '../helpers/fetch-fixture.ts';

let rig: FetchRig | undefined;
afterEach(async () => {
  if (rig) expect(linesLeakingSecrets(rig)).toEqual([]);
  await rig?.close();
  rig = undefined;
});

const USERS = 12;
const start = (shortTermLimit: number, longTermLimit: number) =>
  startFetchRig({ users: USERS, exercisesPerUser: 0, dailyDaysAtRegistration: 2, rateLimit: { shortTermLimit, longTermLimit } }, true, { clock: createVirtualClock() });

const stageFor = (r: FetchRig) => {
  const pipeline = loadPipeline(DEFAULT_PIPELINE_FILE);
  const daily = dailySweepConfig(pipeline.fetch);
  return createFetchStage({
    client: r.client, users: r.users, rawZone: r.rawZone, ledger: r.ledger, bus: r.bus, logger: r.logger, payloads: pipeline.fetch.payloads,
    daily: daily.kinds, dailySchedule: daily.schedule, physicalInfo: pipeline.fetch.physical_info, now: () => new Date(r.clock!.now()),
  });
};
const refused = (r: FetchRig) => r.sim.requestLog.filter((q) => q.status === 429).length;
const swept = (r: FetchRig) => r.sim.accounts.filter((a) => r.ledger.get(a.polarUserId, SWEEP_CURSOR_ID, 'sleep')).map((a) => a.polarUserId);
const deferredLines = (r: FetchRig) =>
  r.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['level'] === 'info' && l['event'] === 'fetch.daily.deferred');

describe('fetch > date-based sweep within the rate-limit budget', () => {
  it('defers the users a 15-minute window cannot cover (no 429), and sweeps them first once it resets', async () => {
    // 100 per 15 min: 30 stay for live work, so 5 users (13 requests each) per window after enrolment and the notifications call.
    rig = await start(100, 100_000);
    const stage = stageFor(rig);
    const first = await stage.runOnce();
    expect(refused(rig)).toBe(0);
    expect(first.dailyUsersSwept).toBeGreaterThan(0);
    expect(first.dailyUsersDeferred).toBe(USERS - first.dailyUsersSwept);
    const sweptFirst = swept(rig);
    expect(sweptFirst).toHaveLength(first.dailyUsersSwept);
    expect(deferredLines(rig)).toEqual([expect.objectContaining({ reason: 'rate_limit_budget', window: 'short_term', users: first.dailyUsersDeferred, needed: 13 })]);
    // Physical info is read with the date-based sweep, so a deferred user costs nothing this run.
    expect(rig.sim.requestLog.filter((q) => q.path === '/v3/users/physical-info')).toHaveLength(first.dailyUsersSwept);

    rig.clock!.advance(15 * 60_000);
    const second = await stage.runOnce();
    expect(refused(rig)).toBe(0);
    // The stalest first: every user swept this run was deferred last run.
    expect(second.dailyUsersSwept).toBeGreaterThan(0);
    const sweptNow = swept(rig).filter((u) => !sweptFirst.includes(u));
    expect(sweptNow).toHaveLength(second.dailyUsersSwept);

    for (let run = 0; run < 10 && swept(rig).length < USERS; run++) {
      rig.clock!.advance(15 * 60_000);
      await stage.runOnce();
    }
    expect(swept(rig)).toHaveLength(USERS);
    expect(refused(rig)).toBe(0);
  });

  it('spreads the 24-hour window over the day: a fresh 15-minute window does not let the sweep run ahead of the pace', async () => {
    // 480 a day, 100 per 15 min: at the day's start the pace allows 0.7 x 100 = 70 (4 users after the
    // enrolment and the notifications call); 15 minutes later 480 / 96 + 70 x 95 / 96 = 74, while the
    // fresh 15-minute window alone would let 5 users go.
    rig = await start(100, 480);
    const stage = stageFor(rig);
    const first = await stage.runOnce();
    expect(first.dailyUsersSwept).toBeGreaterThan(0);
    rig.clock!.advance(15 * 60_000);
    const second = await stage.runOnce();
    expect(second.dailyUsersSwept).toBe(0);
    expect(deferredLines(rig).at(-1)).toMatchObject({ window: 'long_term', users: USERS });
    // Three hours on, the pace allows 480 x 3.25 / 24 + 70 x (1 - 3.25 / 24) = 126: more users go.
    rig.clock!.advance(3 * 3_600_000);
    const later = await stage.runOnce();
    expect(later.dailyUsersSwept).toBeGreaterThan(0);
    expect(refused(rig)).toBe(0);
  });
});

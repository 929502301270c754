/**
 * AccessLink requests per data type, against the minimum the API allows, and against the
 * rate-limit budget at 10,000 users.
 *
 *   node bin/run-ts.mjs bench/api-calls.ts [users=12] [exercisesPerUser=4] [budgetUsers=10000] [exercisesPerUserDay=1] [activitySyncsPerUserDay=3]
 *
 * Part 1 (measured): for each run (an exercise channel), a simulator with `users` enrolled users, the
 * real fetch stage run twice (the first sweep fetches everything, the second finds nothing
 * new), every request the simulator logged classified by data type. Per type it prints the
 * items, the requests made, the requests per item, the minimum the API allows per item and
 * the ratio made / minimum (goal 1.00). Types the listing inlines (`?samples=true&zones=
 * true&route=true`) cost no request per item: their minimum is 0 and so are their requests.
 *
 * Part 2 (time-scaled budget): a day of the deployed workload for `budgetUsers` users on a
 * virtual clock (no waiting), built from part 1's measured requests per item and per sweep:
 * every user uploads `exercisesPerUserDay` exercises at seeded random times, the polling
 * sweep runs on the default schedule (every 5 minutes). Requests are counted per 15-minute
 * and 24-hour window against Polar's limits (500 + 20 x users, 5000 + 100 x users) and the
 * requests over budget printed per channel (goal 0), and, where the default schedule is over,
 * the shortest sweep interval that stays within budget.
 *
 * The `default pipeline` run is the date-based side of pipelines/default.yaml (every type it
 * turns on, with its `every` and `lookback_days`, physical info, the activity and
 * physical-information transactions) against a simulator whose users hold a week of daily
 * data and legacy transactions. Its rows come from the date-based registry
 * (src/daily/endpoints.ts): a type added there appears here with no change. An item of a
 * date-based type is one user's read of it (a "user sweep"); its minimum is one list call when
 * the plain list covers the lookback, else one range call per `maxRangeDays`.
 *
 * Part 3 (the default pipeline at `budgetUsers` users, every data type): a day on a virtual
 * clock (Polar's 15-minute and 24-hour windows time-scaled so the day takes seconds), with the
 * simulator's own rate limiter (src/simulator/rate-limit.ts, Polar's formula) answering every
 * request, the real rate-limit gate learning from its answers, and the fetch stage's real
 * budgets deciding: the transaction budget (src/stages/fetch-budget.ts) and the date-based
 * sweep's (src/stages/fetch-daily-budget.ts). Each run (every 5 minutes, the default cron)
 * does what the fetch stage does in order: pull notifications, the transactions announced
 * (each user's exercises uploaded at seeded random minutes, `activitySyncsPerUserDay` device
 * syncs each making an activity transaction, a physical-information change for one user in
 * fifty a day), then the date-based sweep, stalest users first, each type when its `every`
 * is due, at the requests per read measured in part 1, physical info in the same turn. Per data
 * type it prints the requests a day the configuration asks for (every user read on schedule,
 * no budget) and how many of those would be over Polar's limits, then what the pipeline makes
 * with its budgets, the reads per user and day, the longest a user waited between two reads of
 * the type (or from the last read to the day's end), and the requests over budget (goal 0).
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createAccessLinkClient } from '../src/accesslink/client.ts';
import { enrolUser } from '../src/accesslink/enrol.ts';
import { createOAuth } from '../src/accesslink/oauth.ts';
import { EmbeddedBus } from '../src/bus/embedded.ts';
import { createRawZone, rawKeyFor } from '../src/lake/raw-zone.ts';
import { hashedExerciseId } from '../src/simulator/exercises.ts';
import { mulberry32 } from '../src/simulator/random.ts';
import { startSimulator, type SimulatedExercise } from '../src/simulator/index.ts';
import { createFetchStage, type FetchReport, type FetchStageOptions } from '../src/stages/fetch.ts';
import { openLedger } from '../src/state/ledger.ts';
import { openUserRegistry } from '../src/state/users.ts';
import { createLogger } from '../src/telemetry/log.ts';
import { DATE_BASED_ENDPOINTS, type DateBasedEndpoint } from '../src/daily/endpoints.ts';
import { dailySweepConfig } from '../src/pipeline/data-types.ts';
import { DEFAULT_PIPELINE_FILE, loadPipeline } from '../src/pipeline/load.ts';
import type { DailyKind } from '../src/records/envelope.ts';
import { requestsPerExerciseOf } from '../src/stages/fetch-budget.ts';
import { simulateDay, type DayResult } from './api-calls-day.ts';

const users = Number(process.argv[2] ?? 12);
const exercisesPerUser = Number(process.argv[3] ?? 4);
const budgetUsers = Number(process.argv[4] ?? 10_000);
const exercisesPerUserDay = Number(process.argv[5] ?? 1);
const activitySyncsPerUserDay = Number(process.argv[6] ?? 3);
const SWEEPS = 2;
const PIPELINE = loadPipeline(DEFAULT_PIPELINE_FILE);
const DAILY = dailySweepConfig(PIPELINE.fetch);
const SWEEP_MIN = 5; // pipelines/default.yaml: "*/5 * * * *"

type Request = { method: string; path: string; status: number };

/**
 * The runs measured: each is the real fetch stage with these options against a fresh
 * simulator. Date-based types (f-daily) add a run with their `daily` kinds here.
 */
export const RUNS: Readonly<Record<string, Partial<FetchStageOptions>>> = {
  transactional: { exerciseChannel: 'transactional', daily: [] },
  listing: { exerciseChannel: 'listing', daily: [] },
  'default pipeline': { exerciseChannel: 'transactional', daily: DAILY.kinds, dailySchedule: DAILY.schedule, physicalInfo: PIPELINE.fetch.physical_info, transactional: PIPELINE.fetch.transactional },
};
/** The default pipeline run's simulator: a week of daily data and the legacy transactions, no exercises (measured in the two runs above). */
const DAILY_RUN = 'default pipeline';

/** What a run leaves for the minimum calculation. */
interface RunFacts {
  readonly run: string;
  readonly users: number;
  readonly sweeps: number;
  readonly exercises: readonly SimulatedExercise[];
  /** Users that had data, and transactions opened (transactional channel). */
  readonly usersWithData: number;
  readonly transactions: number;
  /** Sample types the API listed per exercise (from the stored samples payloads). */
  readonly sampleTypes: number;
  /** Date-based reads per type (user sweeps, from the sweep's own log), and users swept (physical info is read in the same turn). */
  readonly dailyReads: ReadonlyMap<string, number>;
  readonly dailyUsersSwept: number;
  /** Legacy transactions: items pending before the run, users holding some, the fewest transactions that carry them (50 items each). */
  readonly legacy: Readonly<Record<'activity' | 'physical', { items: number; users: number; transactions: number }>>;
}

/** One row of the table: a data type, measured in one of RUNS. */
interface DataTypeRow {
  readonly name: string;
  readonly run: keyof typeof RUNS;
  readonly matches: (r: Request) => boolean;
  /** Items of this type in the run (exercises, transactions, user sweeps). */
  readonly items: (f: RunFacts) => number;
  /** Fewest requests the API allows for those items. */
  readonly minimum: (f: RunFacts) => number;
}

const TX = '/v3/users/\\d+/exercise-transactions';
const re = (s: string) => new RegExp(`^${s}$`);

/** Fewest requests the API allows to read `lookbackDays` of a date-based type: the plain list when it covers them, else one range call per `maxRangeDays`. */
export function minimumReads(e: DateBasedEndpoint, lookbackDays: number): number {
  const days = Math.min(lookbackDays, e.windowDays);
  return e.list.path !== null && days <= Math.min(28, e.windowDays) ? 1 : Math.ceil(days / e.list.maxRangeDays);
}

/** One row per registry entry the default pipeline turns on. */
const dateBasedRows = (): DataTypeRow[] =>
  DATE_BASED_ENDPOINTS.filter((e) => DAILY.kinds.includes(e.kind)).map((e) => {
    const paths = new Set([e.list.path, e.list.rangePath].filter((p): p is string => p !== null));
    const schedule = DAILY.schedule[e.kind];
    return {
      name: `${e.kind} (per read, every ${schedule.everyMs === 0 ? 'run' : `${schedule.everyMs / 60_000} min`}, ${schedule.lookbackDays} d)`, run: DAILY_RUN,
      matches: (r: Request) => r.method === 'GET' && paths.has(r.path), items: (f: RunFacts) => f.dailyReads.get(e.kind) ?? 0,
      minimum: (f: RunFacts) => (f.dailyReads.get(e.kind) ?? 0) * minimumReads(e, schedule.lookbackDays),
    };
  });
const LEGACY = (segment: string) => `/v3/users/\\d+/${segment}`;
export const DATA_TYPES: readonly DataTypeRow[] = [
  { name: 'pull notifications (per sweep)', run: 'transactional', matches: (r) => r.path === '/v3/notifications', items: (f) => f.sweeps, minimum: (f) => f.sweeps },
  // create + list + commit per transaction, and the create that answers 204 ("nothing new") per user.
  { name: 'exercise transactions (per transaction)', run: 'transactional', matches: (r) => re(`${TX}(/\\d+)?`).test(r.path), items: (f) => f.transactions, minimum: (f) => 3 * f.transactions + f.usersWithData },
  { name: 'exercise summary', run: 'transactional', matches: (r) => re(`${TX}/\\d+/exercises/\\d+`).test(r.path), items: (f) => f.exercises.length, minimum: (f) => f.exercises.length },
  { name: 'exercise files (tcx, gpx, fit)', run: 'transactional', matches: (r) => re(`${TX}/\\d+/exercises/\\d+/(tcx|gpx|fit)`).test(r.path), items: (f) => f.exercises.length, minimum: (f) => 3 * f.exercises.length },
  // The list of types, then one request per type: the API has no call that returns them together.
  { name: 'exercise samples (all series, RR)', run: 'transactional', matches: (r) => re(`${TX}/\\d+/exercises/\\d+/samples(/\\d+)?`).test(r.path), items: (f) => f.exercises.length, minimum: (f) => f.exercises.length + f.sampleTypes },
  { name: 'exercise heart-rate zones', run: 'transactional', matches: (r) => re(`${TX}/\\d+/exercises/\\d+/heart-rate-zones`).test(r.path), items: (f) => f.exercises.length, minimum: (f) => f.exercises.length },
  // The plain list per user and sweep, and the list with everything inline when it shows something new.
  { name: 'pull notifications (per sweep)', run: 'listing', matches: (r) => r.path === '/v3/notifications', items: (f) => f.sweeps, minimum: (f) => f.sweeps },
  { name: 'exercise listing (per user sweep)', run: 'listing', matches: (r) => r.path === '/v3/exercises', items: (f) => f.users * f.sweeps, minimum: (f) => f.users * f.sweeps + f.usersWithData },
  { name: 'exercise summary, samples, zones, route (inline)', run: 'listing', matches: (r) => re('/v3/exercises/[^/]+').test(r.path), items: (f) => f.exercises.length, minimum: () => 0 },
  { name: 'exercise files (tcx, gpx, fit)', run: 'listing', matches: (r) => re('/v3/exercises/[^/]+/(tcx|gpx|fit)').test(r.path), items: (f) => f.exercises.length, minimum: (f) => 3 * f.exercises.length },
  { name: 'pull notifications (per sweep)', run: DAILY_RUN, matches: (r) => r.path === '/v3/notifications', items: (f) => f.sweeps, minimum: (f) => f.sweeps },
  ...dateBasedRows(),
  { name: 'physical info (per user read)', run: DAILY_RUN, matches: (r) => r.path === '/v3/users/physical-info', items: (f) => f.dailyUsersSwept, minimum: (f) => f.dailyUsersSwept },
  // As for exercises: create + list + commit per transaction, and the create that answers 204 per user.
  { name: 'activity transactions (per transaction)', run: DAILY_RUN, matches: (r) => re(`${LEGACY('activity-transactions')}(/\\d+)?`).test(r.path), items: (f) => f.legacy.activity.transactions, minimum: (f) => 3 * f.legacy.activity.transactions + f.legacy.activity.users },
  { name: 'activity items (summary, steps, zones)', run: DAILY_RUN, matches: (r) => re(`${LEGACY('activity-transactions')}/\\d+/activities/\\d+(/step-samples|/zone-samples)?`).test(r.path), items: (f) => f.legacy.activity.items, minimum: (f) => 3 * f.legacy.activity.items },
  { name: 'physical-info transactions (per transaction)', run: DAILY_RUN, matches: (r) => re(`${LEGACY('physical-information-transactions')}(/\\d+)?`).test(r.path), items: (f) => f.legacy.physical.transactions, minimum: (f) => 3 * f.legacy.physical.transactions + f.legacy.physical.users },
  { name: 'physical-info items', run: DAILY_RUN, matches: (r) => re(`${LEGACY('physical-information-transactions')}/\\d+/physical-informations/\\d+`).test(r.path), items: (f) => f.legacy.physical.items, minimum: (f) => f.legacy.physical.items },
];

async function measure(run: string): Promise<{ facts: RunFacts; requests: Request[]; reports: FetchReport[]; lastSweep: Request[] }> {
  const options = RUNS[run]!;
  const listing = options.exerciseChannel === 'listing';
  const dailyRun = run === DAILY_RUN;
  const sim = await startSimulator({
    seed: 31, users, exercisesPerUser: dailyRun ? 0 : exercisesPerUser, durationRangeS: [300, 900], rateLimit: { shortTermLimit: 10_000_000, longTermLimit: 10_000_000 },
    ...(dailyRun ? { legacyDaily: true, dailyDaysAtRegistration: 7 } : {}),
  });
  const dir = await mkdtemp(join(tmpdir(), 'polar-lake-api-calls-'));
  try {
    const stateDir = join(dir, 'state');
    const oauth = createOAuth({ authorizeUrl: sim.authorizeUrl, tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret });
    const client = createAccessLinkClient({ apiBaseUrl: sim.apiBaseUrl, clientId: sim.clientId, clientSecret: sim.clientSecret });
    const registry = await openUserRegistry({ stateDir, secretKey: randomBytes(32) });
    for (const a of sim.accounts) {
      const { code } = await sim.approve(a.login, 'bench');
      await enrolUser({ oauth, client, users: registry, code, redirectUri: sim.redirectUri, memberId: `m-${a.polarUserId}` });
    }
    const exercises = sim.pendingExercises();
    const legacyOf = (type: 'activity' | 'physical') => {
      const pending = sim.accounts.map((a) => sim.legacyPending(type, a.polarUserId).length).filter((n) => n > 0);
      return { items: pending.reduce((a, b) => a + b, 0), users: pending.length, transactions: pending.reduce((n, k) => n + Math.ceil(k / 50), 0) };
    };
    const legacy = { activity: legacyOf('activity'), physical: legacyOf('physical') };
    const firstRequest = sim.requestLog.length; // enrolment is not a data type
    const rawZone = createRawZone(join(dir, 'lake'));
    const bus = new EmbeddedBus({});
    const dailyReads = new Map<string, number>();
    const logger = createLogger({
      level: 'debug',
      write: (line) => {
        if (!line.includes('fetch.daily.swept')) return;
        const kind = (JSON.parse(line) as { kind: string }).kind;
        dailyReads.set(kind, (dailyReads.get(kind) ?? 0) + 1);
      },
    });
    const stage = createFetchStage({ client, users: registry, rawZone, ledger: await openLedger({ stateDir }), bus, logger, ...options });
    const reports: FetchReport[] = [];
    let lastSweepFrom = 0;
    for (let i = 0; i < SWEEPS; i++) {
      lastSweepFrom = sim.requestLog.length - firstRequest;
      reports.push(await stage.runOnce());
    }
    await bus.close();
    let sampleTypes = 0;
    for (const e of dailyRun ? [] : exercises) {
      const id = listing ? hashedExerciseId(e.exerciseId) : e.exerciseId;
      const key = rawKeyFor(e.userId, id, listing ? 'summary' : 'samples');
      const json = JSON.parse(gunzipSync(readFileSync(join(dir, 'lake', key))).toString('utf8')) as { samples?: unknown[] };
      sampleTypes += json.samples?.length ?? 0;
    }
    const facts: RunFacts = {
      run, users, sweeps: SWEEPS, exercises, sampleTypes, dailyReads, legacy, dailyUsersSwept: reports.reduce((n, r) => n + r.dailyUsersSwept, 0),
      usersWithData: new Set(exercises.map((e) => e.userId)).size,
      transactions: reports.reduce((n, r) => n + r.transactionsCommitted + r.transactionsLeftOpen, 0),
    };
    const requests = sim.requestLog.slice(firstRequest);
    return { facts, requests, reports, lastSweep: requests.slice(lastSweepFrom) };
  } finally {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');

interface Measured {
  readonly run: string;
  /** Requests per user and sweep when nothing is new. */
  readonly perUserSweep: number;
  /** Requests per sweep whatever the number of users (pull notifications). */
  readonly perSweep: number;
  /** Requests per user and sweep that finds something new (a transaction's create, list, commit and closing create; the inline list). */
  readonly perNewDataSweep: number;
  /** Requests per new exercise besides those. */
  readonly perExercise: number;
}

/** The default pipeline run, per request kind of part 3: requests per date-based read, per legacy transaction (user sync) and per item. */
interface DailyMeasured {
  readonly perRead: ReadonlyMap<DailyKind, number>;
  readonly physicalInfoPerRead: number;
  readonly perSync: Readonly<Record<'activity' | 'physical', number>>;
  readonly perItem: Readonly<Record<'activity' | 'physical', number>>;
}

const RUN_COL = 18;
const TYPE_COL = 58;

async function part1(): Promise<{ exercise: Measured[]; daily: DailyMeasured }> {
  console.log(`# Requests per item vs the API's minimum (${users} users x ${exercisesPerUser} exercises, ${SWEEPS} sweeps; goal 1.00)`);
  console.log(`# default pipeline: pipelines/default.yaml's date-based types, physical info and legacy transactions, a week of daily data per user\n`);
  console.log(`${'run'.padEnd(RUN_COL)}${'data type'.padEnd(TYPE_COL)}${pad('items', 7)}${pad('requests', 10)}${pad('per item', 10)}${pad('minimum', 9)}${pad('ratio', 7)}`);
  const out: Measured[] = [];
  let daily: DailyMeasured | undefined;
  for (const run of Object.keys(RUNS)) {
    const { facts, requests, reports, lastSweep } = await measure(run);
    const listing = RUNS[run]!.exerciseChannel === 'listing';
    const unmatched = requests.filter((r) => !DATA_TYPES.some((t) => t.run === run && t.matches(r)));
    const madeOf = (t: DataTypeRow) => requests.filter((r) => t.matches(r)).length;
    for (const t of DATA_TYPES.filter((d) => d.run === run)) {
      const made = madeOf(t);
      const items = t.items(facts);
      const min = t.minimum(facts);
      const ratio = min === 0 ? (made === 0 ? '1.00' : 'inf') : fmt(made / min);
      console.log(`${run.padEnd(RUN_COL)}${t.name.padEnd(TYPE_COL)}${pad(items, 7)}${pad(made, 10)}${pad(fmt(made / items), 10)}${pad(fmt(min / items), 9)}${pad(ratio, 7)}`);
    }
    if (unmatched.length > 0) console.log(`${run.padEnd(RUN_COL)}${'(requests of no listed type)'.padEnd(TYPE_COL)}${pad('', 7)}${pad(unmatched.length, 10)}  ${[...new Set(unmatched.map((r) => `${r.method} ${r.path}`))].slice(0, 3).join(', ')}`);
    if (reports.some((r) => Object.keys(r.errorsByCode).length > 0)) console.log(`  errors: ${JSON.stringify(reports.map((r) => r.errorsByCode))}`);
    if (run === DAILY_RUN) {
      const row = (name: string) => DATA_TYPES.find((t) => t.run === run && t.name.startsWith(name))!;
      const perRead = new Map<DailyKind, number>();
      for (const kind of DAILY.kinds) perRead.set(kind, madeOf(row(`${kind} (`)) / Math.max(1, facts.dailyReads.get(kind) ?? 0));
      const perSync = (type: 'activity' | 'physical') => madeOf(row(`${type === 'activity' ? 'activity' : 'physical-info'} transactions`)) / Math.max(1, facts.legacy[type].users);
      const perItem = (type: 'activity' | 'physical') => madeOf(row(`${type === 'activity' ? 'activity' : 'physical-info'} items`)) / Math.max(1, facts.legacy[type].items);
      daily = {
        perRead, physicalInfoPerRead: madeOf(row('physical info')) / Math.max(1, facts.dailyUsersSwept),
        perSync: { activity: perSync('activity'), physical: perSync('physical') }, perItem: { activity: perItem('activity'), physical: perItem('physical') },
      };
      continue;
    }
    // The last sweep found nothing new: it is the cost of a sweep (one listing per user, or one
    // notifications call); everything else the run made is shared out over the exercises.
    // The first sweep found each user's exercises at once: per user, the transaction (or the
    // inline list) is the new-data sweep's cost; the rest is per exercise.
    // Both channels poll the notifications once a sweep (the listing channel for the activity and physical-information transactions).
    const steadySweep = lastSweep.length;
    const perSweep = lastSweep.filter((r) => r.path === '/v3/notifications').length;
    const perUserSweep = (steadySweep - perSweep) / users;
    const newDataSweeps = requests.filter((r) => (listing ? r.path === '/v3/exercises' : /exercise-transactions(\/\d+)?$/.test(r.path))).length - perUserSweep * users * SWEEPS;
    const perExercise = (requests.length - steadySweep * SWEEPS - newDataSweeps) / facts.exercises.length;
    out.push({ run, perUserSweep, perSweep, perNewDataSweep: newDataSweeps / facts.usersWithData, perExercise });
  }
  return { exercise: out, daily: daily! };
}

/**
 * A day on a virtual clock: sweeps every `sweepMin` minutes; each user's exercises are
 * uploaded at seeded random minutes and fetched by the next sweep. Returns the requests over
 * budget: in each fixed 15-minute window, what exceeds 500 + 20 x users, and over the day,
 * what exceeds 5000 + 100 x users (a request the API would refuse with 429).
 */
function overBudget(m: Measured, sweepMin: number): { total: number; over15: number; over24: number } {
  const shortLimit = 500 + 20 * budgetUsers;
  const longLimit = 5000 + 100 * budgetUsers;
  const perWindow = new Float64Array(96);
  const rng = mulberry32(7);
  // Uploads land in the window of the sweep after them; a user's uploads met by one sweep share its new-data cost.
  for (let u = 0; u < budgetUsers; u++) {
    const sweeps = new Set<number>();
    for (let k = 0; k < exercisesPerUserDay; k++) {
      const minute = Math.floor(rng() * 1440);
      const sweepAt = Math.min(1439, Math.ceil((minute + 1) / sweepMin) * sweepMin);
      perWindow[Math.floor(sweepAt / 15)]! += m.perExercise;
      if (!sweeps.has(sweepAt)) perWindow[Math.floor(sweepAt / 15)]! += m.perNewDataSweep;
      sweeps.add(sweepAt);
    }
  }
  for (let t = 0; t < 1440; t += sweepMin) perWindow[Math.floor(t / 15)]! += m.perSweep + m.perUserSweep * budgetUsers;
  let total = 0;
  let over15 = 0;
  for (const n of perWindow) {
    total += n;
    over15 += Math.max(0, n - shortLimit);
  }
  // Requests refused by the short-term limit still count toward the daily one (reference section 9).
  return { total: Math.round(total), over15: Math.round(over15), over24: Math.round(Math.max(0, total - longLimit)) };
}

function part2(measured: readonly Measured[]): void {
  console.log(`\n# Requests over budget: ${budgetUsers} users, ${exercisesPerUserDay} exercise(s) per user per day, one simulated day (goal 0)`);
  console.log(`  limits: ${500 + 20 * budgetUsers} per 15 min, ${5000 + 100 * budgetUsers} per 24 h\n`);
  console.log(`${'run'.padEnd(14)}${pad('sweep', 8)}${pad('req/new-data sweep', 20)}${pad('req/exercise', 14)}${pad('req/day', 12)}${pad('over 15min', 12)}${pad('over 24h', 12)}`);
  for (const m of measured) {
    const fits = [5, 10, 15, 20, 30, 45, 60, 120].find((s) => { const b = overBudget(m, s); return b.over15 + b.over24 === 0; });
    for (const sweepMin of [5, ...(fits !== undefined && fits !== 5 ? [fits] : [])]) {
      const b = overBudget(m, sweepMin);
      console.log(`${m.run.padEnd(14)}${pad(`${sweepMin} min`, 8)}${pad(fmt(m.perNewDataSweep), 20)}${pad(fmt(m.perExercise), 14)}${pad(b.total, 12)}${pad(b.over15, 12)}${pad(b.over24, 12)}`);
    }
  }
}

function part3(exercise: Measured, daily: DailyMeasured): void {
  const workload = {
    users: budgetUsers, sweepMin: SWEEP_MIN, kinds: DAILY.kinds, schedule: DAILY.schedule, physicalInfo: PIPELINE.fetch.physical_info,
    requestsPerExercise: requestsPerExerciseOf(PIPELINE.fetch.payloads), exercisesPerUserDay, activitySyncsPerUserDay, physicalChangesPerUserDay: 0.02,
    exercise: { perWalk: exercise.perNewDataSweep, perItem: exercise.perExercise },
    activity: { perWalk: daily.perSync.activity, perItem: daily.perItem.activity },
    physical: { perWalk: daily.perSync.physical, perItem: daily.perItem.physical },
  };
  const asConfigured = simulateDay({ ...workload, budgets: false });
  const pipeline = simulateDay({ ...workload, budgets: true });
  console.log(`\n# The default pipeline at ${budgetUsers} users, every data type: one simulated day, a run every ${SWEEP_MIN} min (goal 0 over budget)`);
  console.log(`  ${exercisesPerUserDay} exercise(s), ${activitySyncsPerUserDay} activity sync(s) per user per day, physical info changed by 1 user in 50 a day`);
  console.log(`  limits: ${500 + 20 * budgetUsers} per 15 min, ${5000 + 100 * budgetUsers} per 24 h; "as configured": every read on schedule, no budget\n`);
  console.log(`${'data type'.padEnd(30)}${pad('every', 7)}${pad('req/read', 9)} |${pad('asked/day', 11)}${pad('over', 11)} |${pad('made/day', 10)}${pad('reads/user', 11)}${pad('longest wait', 13)}${pad('over', 6)}`);
  const every = (k: DailyKind) => (DAILY.schedule[k].everyMs === 0 ? 'run' : `${DAILY.schedule[k].everyMs / 60_000}m`);
  const rowOf = (label: string, everyText: string, perRead: string) => {
    const a = asConfigured.byType.get(label);
    const p = pipeline.byType.get(label);
    const reads = p && p.reads > 0 ? fmt(p.reads / budgetUsers) : '';
    const wait = p && p.reads > 0 ? `${(p.longestGapMs / 3_600_000).toFixed(1)} h` : '';
    console.log(`${label.padEnd(30)}${pad(everyText, 7)}${pad(perRead, 9)} |${pad(a?.made ?? 0, 11)}${pad(a?.over ?? 0, 11)} |${pad(p?.made ?? 0, 10)}${pad(reads, 11)}${pad(wait, 13)}${pad(p?.over ?? 0, 6)}`);
  };
  rowOf('pull notifications', 'run', '1.00');
  for (const type of ['exercise', 'activity', 'physical'] as const) rowOf(`${type} transactions`, 'run', '');
  for (const k of DAILY.kinds) rowOf(k, every(k), fmt(daily.perRead.get(k) ?? 0));
  rowOf('physical info', 'run', fmt(daily.physicalInfoPerRead));
  const summary = (name: string, r: DayResult) => `${name}: ${r.total} requests, ${r.over} over budget`;
  console.log(`\n${summary('as configured', asConfigured)}; ${summary('the pipeline', pipeline)} (goal 0), ${pipeline.usersDeferred} user-runs of the date-based sweep deferred, ${pipeline.transactionsDeferred} transactions deferred`);
  const never = [...pipeline.neverRead].filter(([, n]) => n > 0);
  console.log(`users a date-based type never read in the day: ${never.length === 0 ? 'none' : never.map(([k, n]) => `${k} ${n}`).join(', ')}`);
}

const measured = await part1();
part2(measured.exercise);
part3(measured.exercise.find((m) => m.run === 'transactional')!, measured.daily);

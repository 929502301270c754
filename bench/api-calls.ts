/**
 * AccessLink requests per data type, against the minimum the API allows, and against the
 * rate-limit budget at 10,000 users.
 *
 *   node bin/run-ts.mjs bench/api-calls.ts [users=12] [exercisesPerUser=4] [budgetUsers=10000] [exercisesPerUserDay=1]
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
 * Adding a data type (f-daily's date-based endpoints, activity transactions) means adding a
 * run to RUNS (the fetch options that exercise it), rows to DATA_TYPES (how its requests are
 * recognised, its items and its minimum; RunFacts grows the ground truth they need), and
 * for part 2 its measured requests per user-sweep and per item come out of the same run.
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

const users = Number(process.argv[2] ?? 12);
const exercisesPerUser = Number(process.argv[3] ?? 4);
const budgetUsers = Number(process.argv[4] ?? 10_000);
const exercisesPerUserDay = Number(process.argv[5] ?? 1);
const SWEEPS = 2;

type Request = { method: string; path: string; status: number };

/**
 * The runs measured: each is the real fetch stage with these options against a fresh
 * simulator. Date-based types (f-daily) add a run with their `daily` kinds here.
 */
export const RUNS: Readonly<Record<string, Partial<FetchStageOptions>>> = {
  transactional: { exerciseChannel: 'transactional', daily: [] },
  listing: { exerciseChannel: 'listing', daily: [] },
};

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
  { name: 'exercise listing (per user sweep)', run: 'listing', matches: (r) => r.path === '/v3/exercises', items: (f) => f.users * f.sweeps, minimum: (f) => f.users * f.sweeps + f.usersWithData },
  { name: 'exercise summary, samples, zones, route (inline)', run: 'listing', matches: (r) => re('/v3/exercises/[^/]+').test(r.path), items: (f) => f.exercises.length, minimum: () => 0 },
  { name: 'exercise files (tcx, gpx, fit)', run: 'listing', matches: (r) => re('/v3/exercises/[^/]+/(tcx|gpx|fit)').test(r.path), items: (f) => f.exercises.length, minimum: (f) => 3 * f.exercises.length },
];

async function measure(run: string): Promise<{ facts: RunFacts; requests: Request[]; reports: FetchReport[]; steadySweep: number }> {
  const options = RUNS[run]!;
  const listing = options.exerciseChannel === 'listing';
  const sim = await startSimulator({ seed: 31, users, exercisesPerUser, durationRangeS: [300, 900], rateLimit: { shortTermLimit: 10_000_000, longTermLimit: 10_000_000 } });
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
    const firstRequest = sim.requestLog.length; // enrolment is not a data type
    const rawZone = createRawZone(join(dir, 'lake'));
    const bus = new EmbeddedBus({});
    const stage = createFetchStage({ client, users: registry, rawZone, ledger: await openLedger({ stateDir }), bus, ...options });
    const reports: FetchReport[] = [];
    let lastSweepFrom = 0;
    for (let i = 0; i < SWEEPS; i++) {
      lastSweepFrom = sim.requestLog.length - firstRequest;
      reports.push(await stage.runOnce());
    }
    await bus.close();
    let sampleTypes = 0;
    for (const e of exercises) {
      const id = listing ? hashedExerciseId(e.exerciseId) : e.exerciseId;
      const key = rawKeyFor(e.userId, id, listing ? 'summary' : 'samples');
      const json = JSON.parse(gunzipSync(readFileSync(join(dir, 'lake', key))).toString('utf8')) as { samples?: unknown[] };
      sampleTypes += json.samples?.length ?? 0;
    }
    const facts: RunFacts = {
      run, users, sweeps: SWEEPS, exercises, sampleTypes,
      usersWithData: new Set(exercises.map((e) => e.userId)).size,
      transactions: reports.reduce((n, r) => n + r.transactionsCommitted + r.transactionsLeftOpen, 0),
    };
    return { facts, requests: sim.requestLog.slice(firstRequest), reports, steadySweep: sim.requestLog.length - firstRequest - lastSweepFrom };
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

async function part1(): Promise<Measured[]> {
  console.log(`# Requests per item vs the API's minimum (${users} users x ${exercisesPerUser} exercises, ${SWEEPS} sweeps; goal 1.00)\n`);
  console.log(`${'run'.padEnd(14)}${'data type'.padEnd(50)}${pad('items', 7)}${pad('requests', 10)}${pad('per item', 10)}${pad('minimum', 9)}${pad('ratio', 7)}`);
  const out: Measured[] = [];
  for (const run of Object.keys(RUNS)) {
    const { facts, requests, reports, steadySweep } = await measure(run);
    const listing = RUNS[run]!.exerciseChannel === 'listing';
    const unmatched = requests.filter((r) => !DATA_TYPES.some((t) => t.run === run && t.matches(r)));
    for (const t of DATA_TYPES.filter((d) => d.run === run)) {
      const made = requests.filter((r) => t.matches(r)).length;
      const items = t.items(facts);
      const min = t.minimum(facts);
      const ratio = min === 0 ? (made === 0 ? '1.00' : 'inf') : fmt(made / min);
      console.log(`${run.padEnd(14)}${t.name.padEnd(50)}${pad(items, 7)}${pad(made, 10)}${pad(fmt(made / items), 10)}${pad(fmt(min / items), 9)}${pad(ratio, 7)}`);
    }
    if (unmatched.length > 0) console.log(`${run.padEnd(14)}${'(requests of no listed type)'.padEnd(50)}${pad('', 7)}${pad(unmatched.length, 10)}`);
    if (reports.some((r) => Object.keys(r.errorsByCode).length > 0)) console.log(`  errors: ${JSON.stringify(reports.map((r) => r.errorsByCode))}`);
    // The last sweep found nothing new: it is the cost of a sweep (one listing per user, or one
    // notifications call); everything else the run made is shared out over the exercises.
    // The first sweep found each user's exercises at once: per user, the transaction (or the
    // inline list) is the new-data sweep's cost; the rest is per exercise.
    const newDataSweeps = requests.filter((r) => (listing ? r.path === '/v3/exercises' : /exercise-transactions(\/\d+)?$/.test(r.path))).length - (listing ? steadySweep * SWEEPS : 0);
    const perExercise = (requests.length - steadySweep * SWEEPS - newDataSweeps) / facts.exercises.length;
    out.push({ run, perUserSweep: listing ? steadySweep / users : 0, perSweep: listing ? 0 : steadySweep, perNewDataSweep: newDataSweeps / facts.usersWithData, perExercise });
  }
  return out;
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

part2(await part1());

/**
 * The fault suite: the fetch stage against the simulator with every fault switched on
 * (429, 500/502/503, resets and stalls mid-body, chunked bodies that end cleanly but early,
 * bodies short of their Content-Length, transactions expiring mid-walk, revoked tokens),
 * on a virtual clock shared by both, while exercises keep arriving.
 *
 * It drives sweeps as a cron would (5 virtual minutes apart), re-enrols users whose token was
 * revoked (as an operator would), and stops the faults once `requests` requests were made;
 * then it sweeps until Polar holds nothing. It checks, from the simulator's own record:
 * - no commit came before every payload of its items had been delivered whole;
 * - every uploaded exercise was committed once, every payload is in the raw zone with the
 *   simulator's exact bytes, and one `fetched` event was published per payload.
 *
 * Full run: `node bin/run-ts.mjs test/suites/fault.ts --requests 5000 [--seed 7]`
 * (npm run suite:fault). CI runs a seeded subset (test/integration/fault-suite.test.ts).
 */
import { pathToFileURL } from 'node:url';
import { text } from 'node:stream/consumers';
import { createVirtualClock } from '../../src/clock.ts';
import { rawKeyFor } from '../../src/lake/raw-zone.ts';
import { mulberry32 } from '../../src/simulator/random.ts';
import type { FaultKind, FaultPlan } from '../../src/simulator/index.ts';
import { createFetchStage, type FetchReport } from '../../src/stages/fetch.ts';
import { startFetchRig } from '../helpers/fetch-fixture.ts';

export interface FaultSuiteOptions {
  /** Requests to make with the faults on. */
  readonly requests: number;
  readonly seed: number;
  /** Progress lines. @default nothing */
  readonly log?: (line: string) => void;
}

export interface FaultSuiteResult {
  readonly seed: number;
  /** Requests made with the faults on, and in all. */
  readonly requestsWithFaults: number;
  readonly requestsTotal: number;
  readonly faultsDealt: Readonly<Record<FaultKind, number>>;
  readonly sweeps: number;
  readonly exercisesUploaded: number;
  readonly exercisesCommitted: number;
  /** Exercises committed more than once (must be 0). */
  readonly exercisesCommittedTwice: number;
  readonly commits: number;
  /** `<exercise>/<payload>` committed before it went out whole (must be empty). */
  readonly committedIncomplete: readonly string[];
  readonly payloadsExpected: number;
  /** Payloads in the raw zone that differ from the simulator's bytes, or are missing (must be empty). */
  readonly payloadsWrong: readonly string[];
  readonly eventsPublished: number;
  /** Payloads published more than once (must be 0). */
  readonly eventsDuplicated: number;
  readonly reenrolments: number;
  readonly totals: Pick<FetchReport, 'transactionsCommitted' | 'transactionsLeftOpen' | 'transactionsExpired' | 'transactionsDeferred' | 'errorsByCode'>;
  readonly virtualHours: number;
  readonly wallSeconds: number;
}

export const FAULT_PLAN_RATES: Omit<FaultPlan, 'seed'> = {
  rateLimited: 0.015,
  serverError: 0.04,
  resetMidBody: 0.03,
  stall: 0.01,
  truncateChunked: 0.05,
  truncateContentLength: 0.03,
  expireTransaction: 0.01,
  revokeToken: 0.004,
};

const SWEEP_EVERY_MS = 5 * 60_000;

export async function runFaultSuite(options: FaultSuiteOptions): Promise<FaultSuiteResult> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const clock = createVirtualClock();
  const startMs = clock.now();
  const rig = await startFetchRig(
    { seed: options.seed, users: 4, exercisesPerUser: 2, fitFiles: true, durationRangeS: [120, 600], transactionTtlMs: 600_000 },
    true,
    { clock, client: { retry: { retries: 4, initialRetryTimeMs: 500, maxRetryTimeMs: 30_000 }, bodyIdleTimeoutMs: 250 } },
  );
  try {
    const { sim } = rig;
    const stage = createFetchStage({ client: rig.client, users: rig.users, rawZone: rig.rawZone, ledger: rig.ledger, bus: rig.bus, logger: rig.logger, daily: [], payloads: ['summary', 'tcx', 'gpx', 'fit'] });
    const uploads = mulberry32(options.seed ^ 0x5eed);
    const totals = { transactionsCommitted: 0, transactionsLeftOpen: 0, transactionsExpired: 0, transactionsDeferred: 0, errorsByCode: {} as Record<string, number> };
    let sweeps = 0;
    let reenrolments = 0;
    const sweep = async () => {
      const report = await stage.runOnce();
      sweeps++;
      for (const k of ['transactionsCommitted', 'transactionsLeftOpen', 'transactionsExpired', 'transactionsDeferred'] as const) totals[k] += report[k];
      for (const [code, n] of Object.entries(report.errorsByCode)) totals.errorsByCode[code] = (totals.errorsByCode[code] ?? 0) + n;
      // An operator re-authorizes users whose token was revoked.
      for (const user of rig.users.list()) {
        if (user.status !== 'needs_reauth') continue;
        try {
          await rig.reenrol(user.polarUserId);
          reenrolments++;
        } catch {
          // the enrolment itself met a fault: try again after the next sweep
        }
      }
      clock.advance(SWEEP_EVERY_MS);
    };

    sim.setFaults({ seed: options.seed, ...FAULT_PLAN_RATES });
    const apiRequests = () => sim.requestLog.filter((r) => r.path.startsWith('/v3/')).length;
    while (apiRequests() < options.requests) {
      // Exercises keep arriving while the faults are on.
      const account = sim.accounts[Math.floor(uploads() * sim.accounts.length)]!;
      sim.uploadExercises(account.polarUserId, 1 + Math.floor(uploads() * 2));
      await sweep();
      if (sweeps % 10 === 0) log(`sweep ${sweeps}: ${apiRequests()} requests, ${sim.pendingExercises().length} pending`);
    }
    const requestsWithFaults = apiRequests();
    const faultsDealt = sim.faultsDealt();
    sim.setFaults(null);
    for (let i = 0; i < 50 && (sim.pendingExercises().length > 0 || rig.users.list().some((u) => u.status !== 'active')); i++) {
      await sweep();
      clock.advance(600_000); // let a transaction left open lapse
    }

    // The simulator's record against the raw zone and the bus.
    const committedIncomplete = sim.commits.flatMap((c) => c.missing);
    const committed = sim.commits.flatMap((c) => c.exerciseIds.map((id) => `${c.userId}/${id}`));
    const exercises = [...sim.committedExercises(), ...sim.pendingExercises()];
    const payloadsWrong: string[] = [];
    let payloadsExpected = 0;
    for (const ex of sim.committedExercises()) {
      const kinds = [...(ex.hasTcx ? ['tcx'] : []), ...(ex.hasGpx ? ['gpx'] : []), ...(ex.hasFit ? ['fit'] : [])] as ('tcx' | 'gpx' | 'fit')[];
      payloadsExpected += 1 + kinds.length;
      const summaryKey = rawKeyFor(ex.userId, ex.exerciseId, 'summary');
      if (!(await rig.rawZone.exists(summaryKey)) || String((JSON.parse(await text(rig.rawZone.open(summaryKey))) as { id: unknown }).id) !== ex.exerciseId) {
        payloadsWrong.push(`${ex.exerciseId}/summary`);
      }
      for (const kind of kinds) {
        const key = rawKeyFor(ex.userId, ex.exerciseId, kind);
        if (!(await rig.rawZone.exists(key))) {
          payloadsWrong.push(`${ex.exerciseId}/${kind} missing`);
          continue;
        }
        const chunks: Buffer[] = [];
        for await (const c of rig.rawZone.open(key)) chunks.push(c as Buffer);
        if (!Buffer.concat(chunks).equals(await sim.fileBytes(ex.userId, ex.exerciseId, kind))) payloadsWrong.push(`${ex.exerciseId}/${kind} differs`);
      }
    }
    const events = await rig.events();
    const keys = events.map((e) => e.raw_key);
    return {
      seed: options.seed,
      requestsWithFaults,
      requestsTotal: apiRequests(),
      faultsDealt,
      sweeps,
      exercisesUploaded: exercises.length,
      exercisesCommitted: new Set(committed).size,
      exercisesCommittedTwice: committed.length - new Set(committed).size,
      commits: sim.commits.length,
      committedIncomplete,
      payloadsExpected,
      payloadsWrong,
      eventsPublished: events.length,
      eventsDuplicated: keys.length - new Set(keys).size,
      reenrolments,
      totals,
      virtualHours: Math.round(((clock.now() - startMs) / 3_600_000) * 10) / 10,
      wallSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await rig.close();
  }
}

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i < 0 ? undefined : Number(process.argv[i + 1]);
  return value === undefined || !Number.isInteger(value) ? fallback : value;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runFaultSuite({ requests: argValue('--requests', 5000), seed: argValue('--seed', 7), log: (l) => console.error(l) });
  console.log(JSON.stringify(result, null, 2));
  const ok = result.committedIncomplete.length === 0 && result.payloadsWrong.length === 0 && result.eventsDuplicated === 0
    && result.exercisesCommittedTwice === 0 && result.exercisesCommitted === result.exercisesUploaded && result.eventsPublished === result.payloadsExpected;
  console.error(ok ? 'fault suite: PASS' : 'fault suite: FAIL');
  process.exitCode = ok ? 0 : 1;
}

/**
 * The fetch stage (the source, in Vector's terms): AccessLink exercises and date-based data
 * → raw zone → `polar.fetched`.
 *
 * Exercises come through one of two channels (`exerciseChannel`):
 * - `listing` (what Polar recommends): `GET /v3/exercises` for every active user; see
 *   ./fetch-listing.ts. Nothing is committed; the ledger makes each item fetched once.
 * - `transactional` (the default for now; deprecated by Polar on 18.08.2025, kept as the
 *   legacy fallback behind this flag), described below.
 * Both store, publish and decide `feeds_samples` the same way (./fetch-exercise.ts).
 *
 * Transactional, per run: poll the pull notifications; for each active user with EXERCISE data, one user
 * at a time per user (never two open transactions for one user): create a transaction,
 * list it, and for every exercise store each payload (summary JSON, TCX, GPX, FIT) in the
 * raw zone, then publish one FetchedEvent per payload and await the bus. Only when every
 * item of the transaction is stored and published is the transaction committed, because
 * committing deletes the data at Polar for good. Any failure leaves it uncommitted; Polar
 * offers the items again later and the ledger keeps what was already stored from being
 * downloaded or published twice.
 *
 * After the exercise transactions, every active user's date-based data (daily activity,
 * sleep) is swept by ./fetch-daily.ts, whether or not a notification named the user:
 * pull notifications never announce these types.
 */
import cron from 'node-cron';
import type { Bus } from '../bus/bus.ts';
import { PolarLakeError } from '../errors.ts';
import type { AccessLinkClient } from '../accesslink/client.ts';
import { AccessLinkConsentRequiredError, AccessLinkUnauthorizedError } from '../accesslink/errors.ts';
import { validateRawId, type RawZone } from '../lake/raw-zone.ts';
import type { DailyKind, PayloadKind } from '../records/envelope.ts';
import { createDailySweep } from './fetch-daily.ts';
import { ALL_PAYLOADS, createExerciseFetcher, type ExerciseSource } from './fetch-exercise.ts';
import { createListingSweep, type ListingCounts } from './fetch-listing.ts';
import type { Ledger } from '../state/ledger.ts';
import type { UserRegistry } from '../state/users.ts';
import type { Logger } from '../telemetry/log.ts';
import { silentLogger } from '../telemetry/log.ts';
import { crashPoint } from '../crash-points.ts';

export { ALL_PAYLOADS };

/**
 * How exercises are read. `listing`: `GET /v3/exercises` (what Polar recommends since
 * 18.08.2025; nothing to commit, the ledger makes each item fetched once). `transactional`:
 * the deprecated create → list → get → commit walk, kept as the legacy fallback.
 */
export type ExerciseChannel = 'transactional' | 'listing';

export interface FetchStageOptions {
  readonly client: AccessLinkClient;
  readonly users: UserRegistry;
  readonly rawZone: RawZone;
  readonly ledger: Ledger;
  readonly bus: Bus;
  /** @default silentLogger */
  readonly logger?: Logger;
  /** Payloads fetched per exercise. @default ['summary', 'tcx', 'gpx', 'fit'] */
  readonly payloads?: readonly PayloadKind[];
  /** How exercises are read (see ExerciseChannel). @default 'transactional' */
  readonly exerciseChannel?: ExerciseChannel;
  /** Listing channel: upload age (days) after which a still-failing exercise is alerted on. @default 25 */
  readonly windowAlertDays?: number;
  /** Date-based payloads swept for every active user each run; [] turns the sweep off. @default ['activity', 'sleep'] */
  readonly daily?: readonly DailyKind[];
  /** Transactions opened per user and run (each holds at most 50 exercises). @default 10 */
  readonly maxRoundsPerUser?: number;
  /** Users worked on at once; each user's transactions stay serial. @default 2 */
  readonly userConcurrency?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface FetchReport {
  usersPolled: number;
  transactionsCommitted: number;
  transactionsLeftOpen: number;
  exercisesFetched: number;
  payloadsStored: number;
  /** Payloads the ledger already had (stored or absent): not downloaded again. */
  payloadsSkipped: number;
  /** Files the API does not have for an exercise (204/404). */
  payloadsAbsent: number;
  bytesStored: number;
  eventsPublished: number;
  /** Listing channel: users whose `/v3/exercises` was read. */
  listingUsersSwept: number;
  /** Listing channel: listed exercises already complete in the ledger (no request made). */
  exercisesSkipped: number;
  /** Listing channel: exercises that failed this sweep (tried again on the next). */
  exercisesFailed: number;
  /** Daily sweep: users swept, days (or nights) stored because new or changed, days unchanged. */
  dailyUsersSwept: number;
  daysStored: number;
  daysUnchanged: number;
  errorsByCode: Record<string, number>;
}

export interface FetchTotals extends FetchReport {
  runs: number;
  /** When the last run ended (epoch ms), for a "last successful sweep" alert; 0 before the first. */
  lastRunEndedAtMs: number;
}

export interface FetchStage {
  runOnce(): Promise<FetchReport>;
  /** Every run's report added up since start (the metrics endpoint reads it). */
  totals(): Readonly<FetchTotals>;
  /** Runs on a cron expression; a tick while a run is still going is skipped, never overlapped. */
  startSchedule(cronExpression: string): { stop(): void };
}

export class FetchTransactionIncompleteError extends PolarLakeError {
  readonly code = 'PL_FETCH_TRANSACTION_INCOMPLETE';
  readonly kind = 'transient';
  constructor(readonly userId: string, readonly transactionId: string, readonly failedExercises: number) {
    super(`transaction ${transactionId} of user ${userId}: ${failedExercises} exercise(s) not stored, left uncommitted`);
  }
}

function emptyReport(): FetchReport {
  return {
    usersPolled: 0, transactionsCommitted: 0, transactionsLeftOpen: 0, exercisesFetched: 0, payloadsStored: 0,
    payloadsSkipped: 0, payloadsAbsent: 0, bytesStored: 0, eventsPublished: 0,
    listingUsersSwept: 0, exercisesSkipped: 0, exercisesFailed: 0,
    dailyUsersSwept: 0, daysStored: 0, daysUnchanged: 0, errorsByCode: {},
  };
}

function codeOf(error: unknown): string {
  return error instanceof PolarLakeError ? error.code : 'PL_UNEXPECTED';
}

/** 401/403 end the user's run: nothing else will work until an operator acts. */
function isUserBlocking(error: unknown): boolean {
  return error instanceof AccessLinkUnauthorizedError || error instanceof AccessLinkConsentRequiredError;
}

function exerciseIdFromUrl(url: string): string {
  const segments = new URL(url).pathname.split('/').filter(Boolean);
  return validateRawId('exercise id', segments[segments.length - 1] ?? '');
}

export function createFetchStage(options: FetchStageOptions): FetchStage {
  const { client, users, rawZone, ledger, bus } = options;
  const logger = (options.logger ?? silentLogger).child({ stage: 'fetch' });
  const channel = options.exerciseChannel ?? 'transactional';
  const maxRounds = options.maxRoundsPerUser ?? 10;
  const userConcurrency = Math.max(1, options.userConcurrency ?? 2);
  const now = options.now ?? (() => new Date());
  let running: Promise<FetchReport> | null = null;
  const exercises = createExerciseFetcher({ rawZone, ledger, bus, logger, payloads: options.payloads ?? ALL_PAYLOADS, now });
  const listing = createListingSweep({ client, exercises, logger, now, ...(options.windowAlertDays === undefined ? {} : { windowAlertDays: options.windowAlertDays }) });
  const daily = createDailySweep({ client, rawZone, ledger, bus, logger, kinds: options.daily ?? ['activity', 'sleep'], now });

  const countError = (report: FetchReport, error: unknown) => {
    const code = codeOf(error);
    report.errorsByCode[code] = (report.errorsByCode[code] ?? 0) + 1;
  };

  /** The transactional channel: the exercise URL as the transaction lists it. */
  const transactionalSource = (token: string, exerciseUrl: string): ExerciseSource => ({
    exerciseId: exerciseIdFromUrl(exerciseUrl),
    summary: () => client.getExerciseSummary(exerciseUrl, token),
    file: (kind) => client.getExerciseFile(exerciseUrl, kind, token),
    // An expired transaction also answers 404: a later offer must be allowed to fetch the file.
    notFoundIsFinal: false,
  });

  const fetchUser = async (userId: string, report: FetchReport): Promise<void> => {
    report.usersPolled++;
    const token = users.accessToken(userId);
    for (let round = 0; round < maxRounds; round++) {
      const transaction = await client.createExerciseTransaction(userId, token);
      if (!transaction) return;
      let exerciseUrls: string[];
      let failed = 0;
      try {
        exerciseUrls = await client.listTransactionExercises(transaction.resourceUri, token);
        for (const url of exerciseUrls) {
          try {
            await exercises.fetchExercise(userId, transactionalSource(token, url), report);
          } catch (error) {
            if (isUserBlocking(error)) throw error;
            failed++;
            countError(report, error);
            logger.warn('fetch.exercise.failed', { user_id: userId, transaction_id: transaction.transactionId, error });
          }
        }
      } catch (error) {
        report.transactionsLeftOpen++;
        logger.warn('fetch.transaction.left_open', { user_id: userId, transaction_id: transaction.transactionId, error });
        throw error;
      }
      if (failed > 0) {
        // Committing now would delete what was not stored: leave it open, Polar offers it again.
        report.transactionsLeftOpen++;
        logger.warn('fetch.transaction.left_open', {
          user_id: userId, transaction_id: transaction.transactionId, failed_exercises: failed, exercises: exerciseUrls.length,
        });
        countError(report, new FetchTransactionIncompleteError(userId, transaction.transactionId, failed));
        return;
      }
      try {
        crashPoint('fetch.commit');
        await client.commitExerciseTransaction(transaction.resourceUri, token);
      } catch (error) {
        // The commit may still have happened at Polar; the ledger makes a re-offer harmless.
        report.transactionsLeftOpen++;
        logger.warn('fetch.transaction.commit_failed', { user_id: userId, transaction_id: transaction.transactionId, error });
        throw error;
      }
      report.transactionsCommitted++;
      logger.debug('fetch.transaction.committed', { user_id: userId, transaction_id: transaction.transactionId, exercises: exerciseUrls.length });
    }
    logger.info('fetch.user.round_limit_reached', { user_id: userId, max_rounds: maxRounds });
  };

  const totals: FetchTotals = { ...emptyReport(), runs: 0, lastRunEndedAtMs: 0 };
  const addToTotals = (report: FetchReport) => {
    for (const [k, v] of Object.entries(report)) {
      if (typeof v === 'number') (totals as unknown as Record<string, number>)[k] = ((totals as unknown as Record<string, number>)[k] ?? 0) + v;
    }
    for (const [code, n] of Object.entries(report.errorsByCode)) totals.errorsByCode[code] = (totals.errorsByCode[code] ?? 0) + n;
    totals.runs++;
    totals.lastRunEndedAtMs = Date.now();
  };

  const runOnceInner = async (): Promise<FetchReport> => {
    const report = emptyReport();
    await users.reload();
    if (channel === 'listing') await sweepListing(report);
    else await walkTransactions(report);
    if (daily.kinds.length > 0) await sweepDaily(report);
    logger.info('fetch.run.completed', { exercise_channel: channel, ...report, errorsByCode: undefined, errors_by_code: report.errorsByCode });
    addToTotals(report);
    return report;
  };

  /** Listing channel: every active user's `/v3/exercises`, whether or not anything is announced. */
  const sweepListing = async (report: FetchReport): Promise<void> => {
    const queue = users.list().map((u) => u.polarUserId).filter((id) => users.isPollable(id));
    const worker = async () => {
      for (let userId = queue.shift(); userId !== undefined; userId = queue.shift()) {
        try {
          await listing.sweepUser(userId, users.accessToken(userId), report satisfies ListingCounts, (error) => {
            countError(report, error);
            logger.warn('fetch.exercise.failed', { user_id: userId, error });
          });
          report.listingUsersSwept++;
        } catch (error) {
          countError(report, error);
          const status = await users.markFromError(userId, error).catch(() => undefined);
          logger.warn('fetch.user.failed', { user_id: userId, error, new_status: status ?? null });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(userConcurrency, queue.length) }, worker));
  };

  /** Transactional channel (legacy): users named by a pull notification, one transaction at a time each. */
  const walkTransactions = async (report: FetchReport): Promise<void> => {
    const notifications = await client.listNotifications();
    const userIds = [...new Set(notifications.filter((n) => n.dataType === 'EXERCISE').map((n) => n.userId))];
    const queue: string[] = [];
    for (const userId of userIds) {
      const user = users.get(userId);
      if (!user) {
        logger.warn('fetch.notification.unknown_user', { user_id: userId });
        continue;
      }
      if (!users.isPollable(userId)) {
        logger.info('fetch.user.skipped', { user_id: userId, status: user.status });
        continue;
      }
      queue.push(userId);
    }
    const worker = async () => {
      for (let userId = queue.shift(); userId !== undefined; userId = queue.shift()) {
        try {
          await fetchUser(userId, report);
        } catch (error) {
          countError(report, error);
          const status = await users.markFromError(userId, error).catch(() => undefined);
          logger.warn('fetch.user.failed', { user_id: userId, error, new_status: status ?? null });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(userConcurrency, queue.length) }, worker));
  };

  /** Date-based data for every active user (see fetch-daily.ts). */
  const sweepDaily = async (report: FetchReport): Promise<void> => {
    const queue = users.list().map((u) => u.polarUserId).filter((id) => users.isPollable(id));
    const counts = { daysStored: 0, daysUnchanged: 0, eventsPublished: 0, bytesStored: 0 };
    const worker = async () => {
      for (let userId = queue.shift(); userId !== undefined; userId = queue.shift()) {
        try {
          await daily.sweepUser(userId, users.accessToken(userId), counts, (error) => {
            countError(report, error);
            logger.warn('fetch.daily.item_skipped', { user_id: userId, error });
          });
          report.dailyUsersSwept++;
        } catch (error) {
          countError(report, error);
          const status = isUserBlocking(error) ? await users.markFromError(userId, error).catch(() => undefined) : undefined;
          logger.warn('fetch.daily.user_failed', { user_id: userId, error, new_status: status ?? null });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(userConcurrency, queue.length) }, worker));
    report.daysStored += counts.daysStored;
    report.daysUnchanged += counts.daysUnchanged;
    report.eventsPublished += counts.eventsPublished;
    report.bytesStored += counts.bytesStored;
  };

  const runOnce = (): Promise<FetchReport> => {
    if (running) return running;
    running = runOnceInner().finally(() => {
      running = null;
    });
    return running;
  };

  return {
    runOnce,
    totals: () => totals,
    startSchedule(cronExpression) {
      if (!cron.validate(cronExpression)) throw new FetchScheduleInvalidError(cronExpression);
      const task = cron.schedule(cronExpression, async () => {
        if (running) {
          logger.info('fetch.run.skipped_overlap', {});
          return;
        }
        try {
          await runOnce();
        } catch (error) {
          logger.error('fetch.run.failed', { error });
        }
      });
      return { stop: () => void task.stop() };
    },
  };
}

export class FetchScheduleInvalidError extends PolarLakeError {
  readonly code = 'PL_FETCH_INVALID_CRON';
  readonly kind = 'config';
  constructor(readonly expression: string) {
    super(`invalid cron expression ${JSON.stringify(expression)}`);
  }
}

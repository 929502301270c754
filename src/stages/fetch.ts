/**
 * The fetch stage (the source, in Vector's terms): AccessLink's transactional exercise
 * channel → raw zone → `polar.fetched`.
 *
 * Per run: poll the pull notifications; for each active user with EXERCISE data, one user
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
import { TOPICS, type Bus, type OutgoingMessage } from '../bus/bus.ts';
import { PolarLakeError } from '../errors.ts';
import type { AccessLinkClient, ExerciseFileKind } from '../accesslink/client.ts';
import { AccessLinkConsentRequiredError, AccessLinkNotFoundError, AccessLinkUnauthorizedError } from '../accesslink/errors.ts';
import { rawKeyFor, validateRawId, type RawZone } from '../lake/raw-zone.ts';
import { encodeEnvelope, type DailyKind, type FetchedEvent, type PayloadKind } from '../records/envelope.ts';
import { createDailySweep } from './fetch-daily.ts';
import type { Ledger, LedgerEntry } from '../state/ledger.ts';
import type { UserRegistry } from '../state/users.ts';
import type { Logger } from '../telemetry/log.ts';
import { silentLogger } from '../telemetry/log.ts';

export const ALL_PAYLOADS: readonly PayloadKind[] = ['summary', 'tcx', 'gpx', 'fit'];

/** Which payload feeds the samples and laps tables: FIT, else TCX, else GPX (see FetchedEvent). */
const SAMPLE_FEED_ORDER: readonly PayloadKind[] = ['fit', 'tcx', 'gpx'];

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
  /** Daily sweep: users swept, days (or nights) stored because new or changed, days unchanged. */
  dailyUsersSwept: number;
  daysStored: number;
  daysUnchanged: number;
  errorsByCode: Record<string, number>;
}

export interface FetchStage {
  runOnce(): Promise<FetchReport>;
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

function utcOffsetOf(summary: Record<string, unknown>): number | null {
  const value = summary['start-time-utc-offset'] ?? summary['start_time_utc_offset'];
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
}

type Outcome = { readonly kind: 'stored'; readonly entry: LedgerEntry } | { readonly kind: 'absent' };

export function createFetchStage(options: FetchStageOptions): FetchStage {
  const { client, users, rawZone, ledger, bus } = options;
  const logger = (options.logger ?? silentLogger).child({ stage: 'fetch' });
  const payloads = [...(options.payloads ?? ALL_PAYLOADS)].sort((a, b) => ALL_PAYLOADS.indexOf(a) - ALL_PAYLOADS.indexOf(b));
  const maxRounds = options.maxRoundsPerUser ?? 10;
  const userConcurrency = Math.max(1, options.userConcurrency ?? 2);
  const now = options.now ?? (() => new Date());
  let running: Promise<FetchReport> | null = null;
  const daily = createDailySweep({ client, rawZone, ledger, bus, logger, kinds: options.daily ?? ['activity', 'sleep'], now });

  const countError = (report: FetchReport, error: unknown) => {
    const code = codeOf(error);
    report.errorsByCode[code] = (report.errorsByCode[code] ?? 0) + 1;
  };

  /** Downloads one payload (or reuses the ledger's record of it) and stores it. */
  const fetchPayload = async (
    userId: string, token: string, exerciseUrl: string, exerciseId: string, kind: PayloadKind, utcOffsetMin: number | null, report: FetchReport,
  ): Promise<{ outcome: Outcome; utcOffsetMin: number | null }> => {
    const prior = ledger.get(userId, exerciseId, kind);
    if (prior?.state === 'absent') {
      report.payloadsSkipped++;
      return { outcome: { kind: 'absent' }, utcOffsetMin };
    }
    if (prior && prior.rawKey && (await rawZone.exists(prior.rawKey))) {
      report.payloadsSkipped++;
      return { outcome: { kind: 'stored', entry: prior }, utcOffsetMin: kind === 'summary' ? prior.utcOffsetMin : utcOffsetMin };
    }
    const rawKey = rawKeyFor(userId, exerciseId, kind);
    let body;
    let offset = utcOffsetMin;
    if (kind === 'summary') {
      // A 404 here propagates: the item is gone from this transaction (it may have
      // expired), so the exercise is not complete and the transaction must stay open.
      const summary = await client.getExerciseSummary(exerciseUrl, token);
      if (summary) offset = utcOffsetOf(summary.json);
      body = summary?.raw ?? null;
    } else {
      try {
        body = await client.getExerciseFile(exerciseUrl, kind as ExerciseFileKind, token);
      } catch (error) {
        // 404 on a file: that file does not exist for this exercise, like a 204. Not written
        // to the ledger as absent, though: an expired transaction also answers 404, and a
        // later offer must be allowed to fetch the file.
        if (!(error instanceof AccessLinkNotFoundError)) throw error;
        report.payloadsAbsent++;
        return { outcome: { kind: 'absent' }, utcOffsetMin: offset };
      }
    }
    if (body === null) {
      report.payloadsAbsent++;
      await ledger.record([{ userId, exerciseId, payload: kind, state: 'absent', rawKey: null, sha256: null, bytes: null, utcOffsetMin: null, atUtc: now().toISOString() }]);
      return { outcome: { kind: 'absent' }, utcOffsetMin: offset };
    }
    const stored = await rawZone.put(rawKey, body);
    report.payloadsStored++;
    report.bytesStored += stored.bytes;
    logger.debug('fetch.payload.stored', { user_id: userId, exercise_id: exerciseId, payload: kind, bytes: stored.bytes });
    const entry: LedgerEntry = {
      userId, exerciseId, payload: kind, state: 'stored', rawKey: stored.key, sha256: stored.sha256, bytes: stored.bytes,
      utcOffsetMin: kind === 'summary' ? offset : null, atUtc: now().toISOString(),
    };
    // Recorded at once, so a later failure in this exercise does not cost this download again.
    await ledger.record([entry]);
    return { outcome: { kind: 'stored', entry }, utcOffsetMin: offset };
  };

  /** Stores every payload of one exercise, then publishes its events. Throws when anything failed. */
  const fetchExercise = async (userId: string, token: string, exerciseUrl: string, report: FetchReport): Promise<void> => {
    const exerciseId = exerciseIdFromUrl(exerciseUrl);
    const outcomes = new Map<PayloadKind, Outcome>();
    let utcOffsetMin: number | null = null;
    // Payloads of one exercise are fetched in order: the summary first, for the UTC offset.
    for (const kind of payloads) {
      const result = await fetchPayload(userId, token, exerciseUrl, exerciseId, kind, utcOffsetMin, report);
      utcOffsetMin = result.utcOffsetMin;
      outcomes.set(kind, result.outcome);
    }

    // Only now is it known which files exist, so feeds_samples is decided once per exercise.
    // A feeder published by an earlier run keeps the role: a file that shows up later (after
    // a 404 from an expiring transaction) must not make a second one, or samples would double.
    const earlierFeeder = SAMPLE_FEED_ORDER.find((k) => {
      const o = outcomes.get(k);
      return o?.kind === 'stored' && o.entry.state === 'published' && o.entry.feedsSamples === true;
    });
    const feeder = earlierFeeder ?? SAMPLE_FEED_ORDER.find((k) => outcomes.get(k)?.kind === 'stored');
    const messages: OutgoingMessage[] = [];
    const published: LedgerEntry[] = [];
    const at = now().toISOString();
    for (const [kind, outcome] of outcomes) {
      if (outcome.kind !== 'stored' || outcome.entry.state === 'published' || !outcome.entry.rawKey || !outcome.entry.sha256) continue;
      const event: FetchedEvent = {
        type: 'fetched',
        user_id: userId,
        exercise_id: exerciseId,
        payload: kind,
        raw_key: outcome.entry.rawKey,
        bytes: outcome.entry.bytes ?? 0,
        sha256: outcome.entry.sha256,
        fetched_at_utc: at,
        utc_offset_min: utcOffsetMin,
        feeds_samples: kind === feeder,
      };
      messages.push({ key: userId, value: encodeEnvelope(event) });
      published.push({ ...outcome.entry, state: 'published', utcOffsetMin: kind === 'summary' ? utcOffsetMin : null, feedsSamples: event.feeds_samples, atUtc: at });
    }
    if (messages.length > 0) {
      await bus.publish(TOPICS.fetched, messages);
      report.eventsPublished += messages.length;
      await ledger.record(published);
    }
    report.exercisesFetched++;
  };

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
            await fetchExercise(userId, token, url, report);
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

  const runOnceInner = async (): Promise<FetchReport> => {
    const report = emptyReport();
    await users.reload();
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
    if (daily.kinds.length > 0) await sweepDaily(report);
    logger.info('fetch.run.completed', { ...report, errorsByCode: undefined, errors_by_code: report.errorsByCode });
    return report;
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

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
 * list it, and for every exercise store each payload (summary JSON, TCX, GPX, FIT, and the
 * API's sample series and heart-rate zones, which are gone with the commit too) in the
 * raw zone, then publish one FetchedEvent per payload and await the bus. Only when every
 * item of the transaction is stored and published is the transaction committed, because
 * committing deletes the data at Polar for good. Any failure leaves it uncommitted; Polar
 * offers the items again later and the ledger keeps what was already stored from being
 * downloaded or published twice.
 *
 * After the exercise transactions, every active user's date-based data (daily activity,
 * sleep, Nightly Recharge, continuous heart rate, cardio load, SleepWise, biosensing) is
 * swept by ./fetch-daily.ts, whether or not a notification named the user: pull
 * notifications never announce these types.
 *
 * The activity and physical-information transactions (ACTIVITY_SUMMARY and
 * PHYSICAL_INFORMATION notifications) go through the same walker (./fetch-transactions.ts)
 * with their own item fetchers (./fetch-activity.ts), whichever exercise channel is on, so no
 * pull notification stays listed after a sweep. `GET /v3/users/physical-info` is read for
 * every active user too (a snapshot is stored once per `modified`).
 *
 * Webhook events (`runEvents`) do the matching part of this for the user they name.
 */
import cron from 'node-cron';
import type { Bus } from '../bus/bus.ts';
import { PolarLakeError } from '../errors.ts';
import type { AccessLinkClient } from '../accesslink/client.ts';
import { createTransactionBudget, requestsPerExerciseOf, type Deferral } from './fetch-budget.ts';
import { createDailyBudget } from './fetch-daily-budget.ts';
import { validateRawId, type RawZone } from '../lake/raw-zone.ts';
import type { DailyKind, PayloadKind } from '../records/envelope.ts';
import { createDailySweep, type DailySchedule } from './fetch-daily.ts';
import { ALL_PAYLOADS, createExerciseFetcher, type ExerciseSource } from './fetch-exercise.ts';
import { createListingSweep, type ListingCounts } from './fetch-listing.ts';
import { createActivityFetcher, type ActivityCounts } from './fetch-activity.ts';
import { createTransactionWalker, isUserBlocking, NOTIFICATION_TYPES, type TransactionChannel, type TransactionGuard } from './fetch-transactions.ts';
import type { TransactionType } from '../accesslink/client.ts';
import { fetchWorkFor, type FetchWork } from '../webhooks/dispatch.ts';
import type { WebhookEvent } from '../webhooks/events.ts';
import type { Ledger } from '../state/ledger.ts';
import type { UserRegistry } from '../state/users.ts';
import type { Logger } from '../telemetry/log.ts';
import { silentLogger } from '../telemetry/log.ts';

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
  /** Legacy transactional channels besides exercises, walked when a pull notification announces them. @default ['activity', 'physical'] */
  readonly transactional?: readonly ('activity' | 'physical')[];
  /** Read `GET /v3/users/physical-info` for every active user each run. @default on when the date-based sweep is (`daily` not empty) */
  readonly physicalInfo?: boolean;
  /** Per-type frequency and lookback of the daily sweep (src/pipeline/data-types.ts). @default every run, each type's default lookback */
  readonly dailySchedule?: Readonly<Partial<Record<DailyKind, DailySchedule>>>;
  /** Transactions opened per user and run (each holds at most 50 exercises). @default 10 */
  readonly maxRoundsPerUser?: number;
  /** Users worked on at once; each user's transactions stay serial. @default 2 */
  readonly userConcurrency?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Told how each user's sweep of each data type ended (status page, age of what is not fetched yet). */
  readonly onUserSwept?: (outcome: { readonly userId: string; readonly dataType: 'exercise' | 'daily' | 'physical'; readonly ok: boolean }) => void;
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
  /** Legacy activity transactions: items (days) stored with their step and zone samples. */
  activityItemsFetched: number;
  /** Physical-information snapshots stored (transactional items and /v3/users/physical-info), new ones only. */
  physicalSnapshotsStored: number;
  /** Transactions found expired mid-walk (an item answered 404 and so did the transaction): the walk ended there. */
  transactionsExpired: number;
  /** Transactions not opened because the rate-limit budget could not walk them (see fetch-budget.ts). */
  transactionsDeferred: number;
  /** Users whose due date-based types (and physical-info read) the rate-limit budget could not cover this run (see fetch-daily-budget.ts). */
  dailyUsersDeferred: number;
  errorsByCode: Record<string, number>;
}

export interface FetchTotals extends FetchReport {
  runs: number;
  /** When the last run ended (epoch ms), for a "last successful sweep" alert; 0 before the first. */
  lastRunEndedAtMs: number;
}

export interface FetchStage {
  runOnce(): Promise<FetchReport>;
  /** The work webhook events ask for, for the users they name (see src/webhooks/dispatch.ts). */
  runEvents(events: readonly WebhookEvent[]): Promise<FetchReport>;
  /** Every run's report added up since start (the metrics endpoint reads it). */
  totals(): Readonly<FetchTotals>;
  /** Runs on a cron expression; a tick while a run is still going is skipped, never overlapped. */
  startSchedule(cronExpression: string): { stop(): void };
  /**
   * Fetches one date of one date-based type for one user through its per-date call (a
   * webhook naming the date: SLEEP, CONTINUOUS_HEART_RATE, ...), stored and published like the
   * sweep does; an unchanged day is neither. Ignores the type's `every`.
   */
  fetchDailyDay(userId: string, kind: DailyKind, date: string): Promise<FetchReport>;
}

export { FetchTransactionExpiredError, FetchTransactionIncompleteError } from './fetch-transactions.ts';

/**
 * An item of an open transaction answered 404 and so did the transaction itself: it expired
 * at Polar. The walk ends at once (every other item would answer 404 too); the ledger keeps
 * what was stored, and the next sweep's transaction offers the rest again.
 */
function emptyReport(): FetchReport {
  return {
    usersPolled: 0, transactionsCommitted: 0, transactionsLeftOpen: 0, exercisesFetched: 0, payloadsStored: 0,
    payloadsSkipped: 0, payloadsAbsent: 0, bytesStored: 0, eventsPublished: 0,
    listingUsersSwept: 0, exercisesSkipped: 0, exercisesFailed: 0,
    dailyUsersSwept: 0, daysStored: 0, daysUnchanged: 0, activityItemsFetched: 0, physicalSnapshotsStored: 0, transactionsExpired: 0, transactionsDeferred: 0, dailyUsersDeferred: 0, errorsByCode: {},
  };
}

function codeOf(error: unknown): string {
  return error instanceof PolarLakeError ? error.code : 'PL_UNEXPECTED';
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
  const daily = createDailySweep({
    client, rawZone, ledger, bus, logger, kinds: options.daily ?? ['activity', 'sleep'], ...(options.dailySchedule ? { schedule: options.dailySchedule } : {}), now,
    budget: createDailyBudget(client.rateLimitGate),
  });
  const budget = createTransactionBudget(client.rateLimitGate, requestsPerExerciseOf(exercises.payloads));
  let temporariesSwept = false;

  const countError = (report: FetchReport, error: unknown) => {
    const code = codeOf(error);
    report.errorsByCode[code] = (report.errorsByCode[code] ?? 0) + 1;
  };

  /** The transactional channel: the exercise URL as the transaction lists it. */
  const transactionalSource = (token: string, exerciseUrl: string, guard: TransactionGuard): ExerciseSource => ({
    exerciseId: exerciseIdFromUrl(exerciseUrl),
    summary: () => guard(() => client.getExerciseSummary(exerciseUrl, token)),
    file: (kind, store) =>
      guard(async () => {
        if (kind !== 'samples' && kind !== 'zones') return client.getExerciseFile(exerciseUrl, kind, token, store);
        const body = kind === 'samples' ? await client.getExerciseSamples(exerciseUrl, token) : await client.getExerciseHeartRateZones(exerciseUrl, token);
        return body ? store(body) : null;
      }),
    // No route endpoint in this channel: the GPX is the exercise's route here.
    notRequested: ['route'],
    // A 404 of a file in a live transaction is absent for this offer only: a later one may have it.
    notFoundIsFinal: false,
  });

  const walker = createTransactionWalker({ client, logger, maxRounds, budget, now });
  const activity = createActivityFetcher({ client, rawZone, ledger, bus, logger, now });
  const transactionalTypes = new Set(options.transactional ?? ['activity', 'physical']);
  const physicalInfo = options.physicalInfo ?? daily.kinds.length > 0;

  /** The transactional exercise channel: each item is an exercise URL as the transaction lists it. */
  const exerciseChannel: TransactionChannel<FetchReport> = {
    type: 'exercise',
    fetchItem: (userId, token, url, report, guard) => exercises.fetchExercise(userId, transactionalSource(token, url, guard), report),
  };
  const channels: Record<TransactionType, TransactionChannel<FetchReport> | null> = {
    exercise: channel === 'transactional' ? exerciseChannel : null,
    activity: transactionalTypes.has('activity') ? (activity.activityChannel as TransactionChannel<FetchReport>) : null,
    physical: transactionalTypes.has('physical') ? (activity.physicalChannel as TransactionChannel<FetchReport>) : null,
  };

  /** One user's transactions of the announced types, one type after the other (never two open at once). */
  const fetchUser = async (userId: string, types: ReadonlySet<TransactionType>, report: FetchReport): Promise<void> => {
    report.usersPolled++;
    const token = users.accessToken(userId);
    for (const type of ['exercise', 'activity', 'physical'] as const) {
      const walked = channels[type];
      if (!walked || !types.has(type)) continue;
      await walker.walkUser(walked, userId, token, report, (error) => countError(report, error));
    }
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
    if (!temporariesSwept) {
      // Once per process, before anything is written: what a crashed writer left behind.
      const removed = await rawZone.removeStaleTemporaries();
      temporariesSwept = true;
      if (removed.length > 0) logger.info('fetch.raw.temporaries_removed', { count: removed.length, first: removed[0] });
    }
    await users.reload();
    if (channel === 'listing') await sweepListing(report);
    await walkTransactions(report);
    // Physical info is read in the same turn as the user's date-based sweep, so the budget that defers one defers both.
    const dailySwept = daily.kinds.length > 0 ? await sweepDaily(report) : null;
    if (physicalInfo) await sweepPhysical(report, dailySwept);
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
          options.onUserSwept?.({ userId, dataType: 'exercise', ok: true });
        } catch (error) {
          options.onUserSwept?.({ userId, dataType: 'exercise', ok: false });
          countError(report, error);
          const status = await users.markFromError(userId, error).catch(() => undefined);
          logger.warn('fetch.user.failed', { user_id: userId, error, new_status: status ?? null });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(userConcurrency, queue.length) }, worker));
  };

  /** Transactional channels (legacy): users named by a pull notification, one transaction at a time each. */
  const walkTransactions = async (report: FetchReport): Promise<void> => {
    const walkedTypes = (Object.keys(channels) as TransactionType[]).filter((t) => channels[t] !== null);
    if (walkedTypes.length === 0) return;
    const notifications = await client.listNotifications();
    const byUser = new Map<string, Set<TransactionType>>();
    for (const n of notifications) {
      const type = walkedTypes.find((t) => NOTIFICATION_TYPES[t] === n.dataType);
      if (!type) continue;
      const set = byUser.get(n.userId) ?? new Set<TransactionType>();
      set.add(type);
      byUser.set(n.userId, set);
    }
    const queue: string[] = [];
    for (const userId of byUser.keys()) {
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
    await forEachUser(queue, report, (userId) => fetchUser(userId, byUser.get(userId)!, report));
  };

  /** Runs `work` for each user, `userConcurrency` users at a time; a user's failure is counted and may change the user's status. */
  const forEachUser = async (queue: string[], report: FetchReport, work: (userId: string) => Promise<void>, dataType: 'exercise' | 'physical' = 'exercise'): Promise<void> => {
    const worker = async () => {
      for (let userId = queue.shift(); userId !== undefined; userId = queue.shift()) {
        try {
          await work(userId);
          options.onUserSwept?.({ userId, dataType, ok: true });
        } catch (error) {
          options.onUserSwept?.({ userId, dataType, ok: false });
          countError(report, error);
          const status = await users.markFromError(userId, error).catch(() => undefined);
          logger.warn('fetch.user.failed', { user_id: userId, error, new_status: status ?? null });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(userConcurrency, queue.length) }, worker));
  };

  /** `GET /v3/users/physical-info` for every active user (those the date-based sweep reached, when it is on): a new snapshot is stored, a known one skipped. */
  const sweepPhysical = async (report: FetchReport, only: ReadonlySet<string> | null): Promise<void> => {
    const queue = users.list().map((u) => u.polarUserId).filter((id) => users.isPollable(id) && (only === null || only.has(id)));
    await forEachUser(queue, report, (userId) => activity.fetchPhysicalInfo(userId, users.accessToken(userId), report as FetchReport & ActivityCounts), 'physical');
  };

  /** What webhook events ask for, per user: the matching fetch only (see src/webhooks/dispatch.ts). */
  const runEventsInner = async (events: readonly WebhookEvent[]): Promise<FetchReport> => {
    const report = emptyReport();
    await users.reload();
    const work = new Map<string, FetchWork[]>();
    for (const event of events) {
      const item = fetchWorkFor(event, now());
      if (!item) {
        logger.info('fetch.webhook.ignored', { event: event.event, user_id: event.user_id });
        continue;
      }
      work.set(event.user_id, [...(work.get(event.user_id) ?? []), item]);
    }
    const queue = [...work.keys()].filter((userId) => {
      if (users.isPollable(userId)) return true;
      logger.info('fetch.webhook.user_skipped', { user_id: userId, known: users.get(userId) !== undefined });
      return false;
    });
    await forEachUser(queue, report, async (userId) => {
      const token = users.accessToken(userId);
      const done = new Set<string>(); // duplicates in one batch: each piece of work once
      for (const item of work.get(userId)!) {
        const key = JSON.stringify(item);
        if (done.has(key)) continue;
        done.add(key);
        await runWork(userId, token, item, report);
      }
    });
    logger.info('fetch.webhook.run_completed', { events: events.length, users: queue.length, ...report, errorsByCode: undefined, errors_by_code: report.errorsByCode });
    addToTotals(report);
    return report;
  };

  const runWork = async (userId: string, token: string, item: FetchWork, report: FetchReport): Promise<void> => {
    const onItemError = (error: unknown) => {
      countError(report, error);
      logger.warn('fetch.webhook.item_failed', { user_id: userId, work: item.kind, error });
    };
    switch (item.kind) {
      case 'exercises':
        if (channel === 'listing') {
          await listing.sweepUser(userId, token, report, onItemError);
          report.listingUsersSwept++;
        } else {
          report.usersPolled++;
          await walker.walkUser(exerciseChannel, userId, token, report, onItemError);
        }
        return;
      case 'physical-info':
        await activity.fetchPhysicalInfo(userId, token, report);
        return;
      case 'dated': {
        const counts = { daysStored: 0, daysUnchanged: 0, eventsPublished: 0, bytesStored: 0 };
        const types = item.types.filter((t) => daily.kinds.includes(t));
        if (types.length === 0) logger.info('fetch.webhook.types_off', { user_id: userId, event: item.event, types: item.types });
        for (const type of types) for (const date of item.dates) await daily.fetchDay(userId, token, type, date, counts, onItemError);
        report.daysStored += counts.daysStored;
        report.daysUnchanged += counts.daysUnchanged;
        report.eventsPublished += counts.eventsPublished;
        report.bytesStored += counts.bytesStored;
        return;
      }
    }
  };

  /** Date-based data for every active user the rate-limit budget covers, stalest first (see fetch-daily.ts); returns the users swept. */
  const sweepDaily = async (report: FetchReport): Promise<Set<string>> => {
    const queue = daily.stalestFirst(users.list().map((u) => u.polarUserId).filter((id) => users.isPollable(id)));
    const counts = { daysStored: 0, daysUnchanged: 0, eventsPublished: 0, bytesStored: 0 };
    const swept = new Set<string>();
    let firstDeferral: (Deferral & { userId: string }) | null = null;
    const worker = async () => {
      for (let userId = queue.shift(); userId !== undefined; userId = queue.shift()) {
        try {
          const deferral = await daily.sweepUser(userId, users.accessToken(userId), counts, (error) => {
            countError(report, error);
            logger.warn('fetch.daily.item_skipped', { user_id: userId, error });
          }, physicalInfo ? 1 : 0);
          if (deferral) {
            // Strictly stalest first: a cheaper sweep behind this user (activity and sleep of a
            // user read a run ago) would take the budget it waits for, run after run.
            report.dailyUsersDeferred += 1 + queue.length;
            queue.length = 0;
            firstDeferral ??= { ...deferral, userId };
            continue;
          }
          swept.add(userId);
          report.dailyUsersSwept++;
          options.onUserSwept?.({ userId, dataType: 'daily', ok: true });
        } catch (error) {
          options.onUserSwept?.({ userId, dataType: 'daily', ok: false });
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
    const first = firstDeferral as (Deferral & { userId: string }) | null;
    if (first) {
      // Once per run: the users left due go first next run.
      logger.info('fetch.daily.deferred', {
        users: report.dailyUsersDeferred, swept: report.dailyUsersSwept, reason: 'rate_limit_budget', window: first.window, remaining: first.remaining,
        needed: first.needed, wait_ms: first.resetInMs, until_utc: new Date(now().getTime() + first.resetInMs).toISOString(), first_user_id: first.userId,
      });
    }
    return swept;
  };

  const runOnce = (): Promise<FetchReport> => {
    if (running) return running;
    running = runOnceInner().finally(() => {
      running = null;
    });
    return running;
  };

  const fetchDailyDay = async (userId: string, kind: DailyKind, date: string): Promise<FetchReport> => {
    const report = emptyReport();
    if (!users.isPollable(userId)) return report;
    const counts = { daysStored: 0, daysUnchanged: 0, eventsPublished: 0, bytesStored: 0 };
    try {
      await daily.fetchDay(userId, users.accessToken(userId), kind, date, counts, (error) => countError(report, error));
    } catch (error) {
      countError(report, error);
      const status = isUserBlocking(error) ? await users.markFromError(userId, error).catch(() => undefined) : undefined;
      logger.warn('fetch.daily.day_failed', { user_id: userId, kind, date, error, new_status: status ?? null });
    }
    Object.assign(report, { daysStored: counts.daysStored, daysUnchanged: counts.daysUnchanged, eventsPublished: counts.eventsPublished, bytesStored: counts.bytesStored });
    return report;
  };

  let eventRuns: Promise<unknown> = Promise.resolve();
  const runEvents = (events: readonly WebhookEvent[]): Promise<FetchReport> => {
    // Serialised with scheduled runs and with each other: never two open transactions for one user and type.
    const run = eventRuns.then(async () => {
      while (running) await running.catch(() => undefined);
      running = runEventsInner(events).finally(() => {
        running = null;
      });
      return running;
    });
    eventRuns = run.catch(() => undefined);
    return run;
  };

  return {
    runOnce,
    fetchDailyDay,
    runEvents,
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

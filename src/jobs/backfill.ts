/**
 * `polar-lake backfill`: everything the current API still shows, for every data type, for the
 * chosen users: exercises through `/v3/exercises` (30 days), every date-based type of
 * src/daily/endpoints.ts over its whole window (activity: 365 days, the rest 28; cardio load two
 * years through its `/period` history call) or back to `--since`, and the physical-information
 * snapshot.
 *
 * - Its requests wait in the `backfill` lane of the shared rate-limit gate
 *   (src/accesslink/rate-limit.ts): the lane stops when a window's free budget is down to the
 *   share reserved for live work and waits for the reset, so live polling and webhooks keep
 *   their share however long a backfill runs. The budget is read from AccessLink's
 *   RateLimit-* headers, which count the whole partner client: a `run` in another process is
 *   protected too.
 * - Resumable: the ledger skips what is stored (an unchanged day, a complete exercise, a known
 *   snapshot cost no download), so a re-run after a crash only fetches what is missing.
 * - Exercises come from `/v3/exercises` only when the pipeline reads that channel: its hashed
 *   ids do not map to the transactional numeric ids, so mixing them would store exercises
 *   twice (src/state/channel-lock.ts). With the transactional channel they are skipped and
 *   the summary says so.
 * - `--dry-run` plans the requests without making any and estimates their time at the
 *   backfill lane's share of the budget.
 */
import type { AccessLinkClient } from '../accesslink/client.ts';
import type { Bus } from '../bus/bus.ts';
import { PolarLakeError } from '../errors.ts';
import { dateBasedEndpoint } from '../daily/endpoints.ts';
import type { RawZone } from '../lake/raw-zone.ts';
import { DAILY_KINDS, type DailyKind, type PayloadKind } from '../records/envelope.ts';
import { createActivityFetcher, type ActivityCounts } from '../stages/fetch-activity.ts';
import { createDailySweep, planRequests, type DailySweepCounts } from '../stages/fetch-daily.ts';
import { createExerciseFetcher } from '../stages/fetch-exercise.ts';
import { createListingSweep, type ListingCounts } from '../stages/fetch-listing.ts';
import type { Ledger } from '../state/ledger.ts';
import type { UserRegistry } from '../state/users.ts';
import type { Logger } from '../telemetry/log.ts';
import type { JobProgress } from './progress.ts';

/** What a backfill can pull: exercises, physical information, and every date-based type. */
export type BackfillType = 'exercises' | 'physical' | DailyKind;
export const BACKFILL_TYPES: readonly BackfillType[] = ['exercises', ...DAILY_KINDS, 'physical'];
/**
 * What a backfill pulls unless `--types` says: every type but activity_samples, whose rows the
 * activity days already bring with their sample flags (asked for, it writes the same sources:
 * nothing doubles, it only costs requests).
 */
export const DEFAULT_BACKFILL_TYPES: readonly BackfillType[] = BACKFILL_TYPES.filter((t) => t !== 'activity_samples');

export class BackfillOptionError extends PolarLakeError {
  readonly code = 'PL_BACKFILL_INVALID_OPTION';
  readonly kind = 'config';
  constructor(message: string, readonly option: string) {
    super(`${option}: ${message}`);
  }
}

export interface BackfillPlanRequest {
  readonly userId: string;
  readonly type: BackfillType;
  readonly method: 'GET';
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** What the request leads to that cannot be counted before it is made (exercise files). */
  readonly note?: string;
}

export interface BackfillPlan {
  readonly users: readonly string[];
  readonly types: readonly BackfillType[];
  /** Types left out, with why (the exercise channel). */
  readonly skipped: readonly { type: BackfillType; reason: string }[];
  readonly requests: readonly BackfillPlanRequest[];
  /** Requests per 15 minutes and per 24 hours the backfill lane may use, and where the figure comes from. */
  readonly budget: { readonly shortTerm: number; readonly longTerm: number; readonly source: 'observed' | 'formula' };
  /** Seconds the planned requests take at that budget (exercise files not counted). */
  readonly estimatedSeconds: number;
}

export interface BackfillDeps {
  /** A client whose requests wait in the `backfill` lane (createAccessLinkClient({ lane: 'backfill', rateLimitGate })). */
  readonly client: AccessLinkClient;
  readonly users: UserRegistry;
  readonly rawZone: RawZone;
  readonly ledger: Ledger;
  readonly bus: Bus;
  readonly logger: Logger;
  readonly now: () => Date;
  /** The pipeline's exercise channel: exercises are backfilled only through `listing`. */
  readonly exerciseChannel: 'transactional' | 'listing';
  /** Payloads fetched per exercise. */
  readonly payloads: readonly PayloadKind[];
}

export interface BackfillRequest {
  /** @default every pollable user */
  readonly users?: readonly string[];
  /** @default DEFAULT_BACKFILL_TYPES */
  readonly types?: readonly BackfillType[];
  /** Oldest date to pull (YYYY-MM-DD); each type stays within its window. @default each type's whole window */
  readonly since?: string;
}

const SHORT_WINDOW_S = 900;
const LONG_WINDOW_S = 86_400;

function checkRequest(request: BackfillRequest, deps: BackfillDeps): { users: string[]; types: BackfillType[] } {
  const types = [...(request.types ?? DEFAULT_BACKFILL_TYPES)];
  for (const t of types) if (!BACKFILL_TYPES.includes(t)) throw new BackfillOptionError(`unknown type ${JSON.stringify(t)} (known: ${BACKFILL_TYPES.join(', ')})`, '--types');
  if (request.since !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(request.since) || !Number.isFinite(Date.parse(`${request.since}T00:00:00Z`)))) {
    throw new BackfillOptionError(`expected a date YYYY-MM-DD, got ${JSON.stringify(request.since)}`, '--since');
  }
  const users = request.users ? [...request.users] : deps.users.list().map((u) => u.polarUserId).filter((id) => deps.users.isPollable(id));
  for (const u of users) if (!deps.users.get(u)) throw new BackfillOptionError(`no enrolled user ${JSON.stringify(u)}`, '--users');
  return { users, types };
}

/** Days from `since` to today (inclusive), capped at the type's window; the whole window without `since`. */
function lookbackDays(kind: DailyKind, today: string, since: string | undefined): number {
  const endpoint = dateBasedEndpoint(kind);
  // A type with a history call (cardio load) reaches back beyond its window.
  const window = endpoint.history?.windowDays ?? endpoint.windowDays;
  if (since === undefined) return window;
  const days = Math.round((Date.parse(`${today}T00:00:00Z`) - Date.parse(`${since}T00:00:00Z`)) / 86_400_000) + 1;
  return Math.max(1, Math.min(window, days));
}

/** The requests a backfill makes, and their time at the backfill lane's share of the budget. */
export function planBackfill(request: BackfillRequest, deps: BackfillDeps, gate: { last: { shortTerm: { limit: number }; longTerm?: { limit: number } | undefined } | undefined; liveReserve: number }): BackfillPlan {
  const { users, types } = checkRequest(request, deps);
  const today = deps.now().toISOString().slice(0, 10);
  const skipped: { type: BackfillType; reason: string }[] = [];
  const wanted = types.filter((t) => {
    if (t === 'exercises' && deps.exerciseChannel !== 'listing') {
      skipped.push({ type: t, reason: 'the pipeline reads exercises through transactions; /v3/exercises ids would store them a second time (fetch.exercise_channel: listing backfills them)' });
      return false;
    }
    return true;
  });
  const requests: BackfillPlanRequest[] = [];
  for (const userId of users) {
    for (const type of wanted) {
      if (type === 'exercises') requests.push({ userId, type, method: 'GET', path: '/v3/exercises', query: {}, note: `then ${deps.payloads.filter((p) => p !== 'summary').length} file request(s) per exercise not yet stored` });
      else if (type === 'physical') requests.push({ userId, type, method: 'GET', path: '/v3/users/physical-info', query: {} });
      else for (const r of planRequests(dateBasedEndpoint(type), today, lookbackDays(type, today, request.since)).requests) requests.push({ userId, type, method: 'GET', ...r });
    }
  }
  // AccessLink's formula when no response has been seen yet: 500 + 20 × users per 15 min, 5000 + 100 × users per day.
  const registered = deps.users.list().length;
  const observed = gate.last;
  const share = 1 - gate.liveReserve;
  const shortTerm = Math.floor((observed?.shortTerm.limit ?? 500 + 20 * registered) * share);
  const longTerm = Math.floor((observed?.longTerm?.limit ?? 5000 + 100 * registered) * share);
  const n = requests.length;
  const estimatedSeconds = n === 0 ? 0 : Math.max(Math.floor((n - 1) / Math.max(1, shortTerm)) * SHORT_WINDOW_S, Math.floor((n - 1) / Math.max(1, longTerm)) * LONG_WINDOW_S);
  return { users, types: wanted, skipped, requests, budget: { shortTerm, longTerm, source: observed ? 'observed' : 'formula' }, estimatedSeconds };
}

export interface BackfillResult {
  readonly plan: BackfillPlan;
}

/** Runs the backfill; every (user, type) is one unit of `progress`, and day / exercise / snapshot counts go into its summary. */
export async function runBackfill(request: BackfillRequest, deps: BackfillDeps, progress: JobProgress, gate: Parameters<typeof planBackfill>[2]): Promise<BackfillResult> {
  const plan = planBackfill(request, deps, gate);
  const { client, rawZone, ledger, bus, logger, now } = deps;
  const log = logger.child({ job: 'backfill' });
  for (const s of plan.skipped) progress.count(`skipped_type_${s.type}`);
  progress.addTotal(plan.users.length * plan.types.length);
  const today = now().toISOString().slice(0, 10);
  const exercises = createExerciseFetcher({ rawZone, ledger, bus, logger: log, payloads: deps.payloads, now });
  const listing = createListingSweep({ client, exercises, logger: log, now });
  const activity = createActivityFetcher({ client, rawZone, ledger, bus, logger: log, now });

  for (const userId of plan.users) {
    if (!deps.users.isPollable(userId)) {
      for (const type of plan.types) progress.failed({ path: `user ${userId} ${type}`, code: 'PL_BACKFILL_USER_NOT_ACTIVE', reason: `user status ${deps.users.get(userId)?.status ?? 'unknown'}` });
      continue;
    }
    const token = deps.users.accessToken(userId);
    for (const type of plan.types) {
      const where = `user ${userId} ${type}`;
      const itemErrors: unknown[] = [];
      const onItemError = (error: unknown) => itemErrors.push(error);
      try {
        let stored = 0;
        let present = 0;
        if (type === 'exercises') {
          const counts: ListingCounts = { exercisesFetched: 0, payloadsStored: 0, payloadsSkipped: 0, payloadsAbsent: 0, bytesStored: 0, eventsPublished: 0, exercisesSkipped: 0, exercisesFailed: 0 };
          await listing.sweepUser(userId, token, counts, onItemError);
          stored = counts.exercisesFetched;
          present = counts.exercisesSkipped;
          progress.count('exercises_stored', stored);
          progress.count('exercises_already_present', present);
        } else if (type === 'physical') {
          const counts = { transactionsCommitted: 0, transactionsLeftOpen: 0, transactionsExpired: 0, transactionsDeferred: 0, activityItemsFetched: 0, physicalSnapshotsStored: 0, payloadsStored: 0, payloadsSkipped: 0, payloadsAbsent: 0, bytesStored: 0, eventsPublished: 0 } satisfies ActivityCounts;
          await activity.fetchPhysicalInfo(userId, token, counts);
          stored = counts.physicalSnapshotsStored;
          present = counts.payloadsSkipped;
          progress.count('snapshots_stored', stored);
        } else {
          const days = lookbackDays(type, today, request.since);
          const sweep = createDailySweep({ client, rawZone, ledger, bus, logger: log, kinds: [type], schedule: { [type]: { everyMs: 0, lookbackDays: days } }, now });
          const counts: DailySweepCounts = { daysStored: 0, daysUnchanged: 0, eventsPublished: 0, bytesStored: 0 };
          await sweep.sweepUser(userId, token, counts, onItemError);
          stored = counts.daysStored;
          present = counts.daysUnchanged;
          progress.count('days_stored', stored);
          progress.count('days_already_present', present);
        }
        for (const error of itemErrors) progress.failed({ path: where, code: codeOf(error), reason: reasonOf(error) });
        if (itemErrors.length === 0) progress.done(stored > 0 ? 'stored' : 'already_present');
        log.debug('backfill.task.done', { user_id: userId, type, stored, already_present: present, item_errors: itemErrors.length });
      } catch (error) {
        progress.failed({ path: where, code: codeOf(error), reason: reasonOf(error) });
        log.warn('backfill.task.failed', { user_id: userId, type, error });
        // 401/403 end the user: the rest of their types would fail the same way.
        const status = await deps.users.markFromError(userId, error).catch(() => undefined);
        if (status && status !== 'active') {
          const rest = plan.types.slice(plan.types.indexOf(type) + 1);
          for (const t of rest) progress.failed({ path: `user ${userId} ${t}`, code: codeOf(error), reason: `skipped: user is ${status}` });
          break;
        }
      }
    }
  }
  progress.count('requests_planned', plan.requests.length);
  return { plan };
}

function codeOf(error: unknown): string {
  return error instanceof PolarLakeError ? error.code : 'PL_UNEXPECTED';
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The dry run as text: one line per request, then the totals and the time estimate. */
export function formatBackfillPlan(plan: BackfillPlan): string {
  const lines = plan.requests.map((r) => {
    const q = new URLSearchParams(r.query as Record<string, string>).toString();
    return `${r.method} ${r.path}${q ? `?${q}` : ''}  (user ${r.userId}, ${r.type})${r.note ? `  ${r.note}` : ''}`;
  });
  for (const s of plan.skipped) lines.push(`skipped ${s.type}: ${s.reason}`);
  const hours = plan.estimatedSeconds / 3600;
  lines.push(
    `${plan.requests.length} request(s) for ${plan.users.length} user(s), types ${plan.types.join(', ') || '(none)'}; ` +
      `backfill lane: ${plan.budget.shortTerm}/15 min and ${plan.budget.longTerm}/24 h (${plan.budget.source === 'observed' ? 'from the last RateLimit headers' : 'AccessLink formula for the enrolled users'}); ` +
      `about ${hours >= 1 ? `${hours.toFixed(1)} h` : `${Math.round(plan.estimatedSeconds / 60)} min`} at that budget`,
  );
  return lines.join('\n') + '\n';
}


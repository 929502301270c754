/**
 * The listing exercise channel: `GET /v3/exercises` per active user → raw zone →
 * `polar.fetched`. This is how Polar recommends reading exercises since the transactional
 * channel was deprecated (18.08.2025).
 *
 * The list shows every exercise uploaded in the last 30 days on every sweep, and nothing is
 * committed, so the ledger is what makes each item fetched once: an exercise whose every
 * payload is published or known absent is skipped without a request. For the others:
 *
 * - the summary is the list item itself, stored byte for byte as received (no request per
 *   exercise for it). When the plain list shows an exercise the ledger does not have complete,
 *   it is asked again with `?samples=true&zones=true&route=true` (as the pipeline's payloads
 *   say): one more request per user and sweep with new data, however many exercises are new,
 *   and the item then carries the sample series, heart-rate zones and route inline (the parse
 *   stage reads them from the stored summary). Sweeps with nothing new stay one small request:
 *   the inline form lists 30 days of every series and route, megabytes per user.
 * - files come from `/v3/exercises/{hashId}/{tcx|gpx|fit}`, 204 or 404 = absent (recorded,
 *   so a missing file is not asked for again on every sweep);
 * - raw keys, events and `feeds_samples` are the transactional channel's (./fetch-exercise.ts),
 *   with the hashed id as the exercise id.
 *
 * A failing exercise stays incomplete and is tried again next sweep; it stays listed for
 * 30 days after its upload. Past `windowAlertDays` a failure is logged as a typed warning
 * (`PL_FETCH_EXERCISE_LEAVING_WINDOW`): a few days more and it is gone for good.
 *
 * There is no documented mapping between these hashed ids and transactional numeric ids, so
 * an exercise fetched by both channels lands twice under two ids; pick one channel per lake.
 */
import type { AccessLinkClient, ListedExercise } from '../accesslink/client.ts';
import { AccessLinkConsentRequiredError, AccessLinkUnauthorizedError } from '../accesslink/errors.ts';
import { PolarLakeError } from '../errors.ts';
import { LISTING_INLINE, type ExerciseCounts, type ExerciseFetcher, type ExerciseSource } from './fetch-exercise.ts';
import type { Logger } from '../telemetry/log.ts';

const DAY_MS = 86_400_000;

/** A listed exercise keeps failing while close to the end of its 30-day window. */
export class FetchExerciseLeavingWindowError extends PolarLakeError {
  readonly code = 'PL_FETCH_EXERCISE_LEAVING_WINDOW';
  readonly kind = 'transient';
  constructor(
    readonly userId: string,
    readonly exerciseId: string,
    readonly uploadTime: string,
    readonly ageDays: number,
    options?: { cause?: unknown },
  ) {
    super(`exercise ${exerciseId} of user ${userId} (uploaded ${uploadTime}, ${ageDays.toFixed(1)} days ago) still fails and leaves the 30-day window soon`, options);
  }
}

export interface ListingCounts extends ExerciseCounts {
  /** Listed exercises the ledger already had complete: no request made for them. */
  exercisesSkipped: number;
  exercisesFailed: number;
}

export interface ListingSweepOptions {
  readonly client: AccessLinkClient;
  readonly exercises: ExerciseFetcher;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Age of the upload after which a failing exercise is alerted on (the window is 30 days). @default 25 */
  readonly windowAlertDays?: number;
}

export interface ListingSweep {
  /**
   * Sweeps one user's listing. Throws on the list request's errors (the caller decides about
   * the user); an exercise's failure goes to `onItemError` and the rest flows on.
   */
  sweepUser(userId: string, token: string, counts: ListingCounts, onItemError: (error: unknown) => void): Promise<void>;
}

function uploadTimeOf(json: Record<string, unknown>): string | null {
  const value = json['upload_time'] ?? json['upload-time'];
  return typeof value === 'string' && Number.isFinite(Date.parse(value)) ? value : null;
}

export function createListingSweep(options: ListingSweepOptions): ListingSweep {
  const { client, exercises, logger, now } = options;
  const alertAfterMs = (options.windowAlertDays ?? 25) * DAY_MS;
  // One request per user and sweep with something new carries every new exercise's series, zones and route.
  const inline = Object.fromEntries(LISTING_INLINE.map((kind) => [kind, exercises.payloads.includes(kind)]));
  const wantsInline = Object.values(inline).some(Boolean);

  const sourceOf = (token: string, item: ListedExercise): ExerciseSource => ({
    exerciseId: item.id,
    summary: async () => ({ raw: item.raw, json: item.json }),
    // Samples and zones are never asked for on their own here (notRequested): they came inline.
    file: async (kind, store) => (kind === 'samples' || kind === 'zones' ? null : client.getExerciseFile(item.url, kind, token, store)),
    notFoundIsFinal: true,
    notRequested: LISTING_INLINE,
  });

  return {
    async sweepUser(userId, token, counts, onItemError) {
      let listing = await client.listExercises(token);
      if (wantsInline && listing.exercises.some((item) => !exercises.isComplete(userId, item.id, LISTING_INLINE))) {
        // Something is new: the same list again with the series, zones and route inline, one
        // request however many exercises are new. Asking for them on every sweep would download
        // 30 days of every user's series and routes each time (megabytes per user) for nothing.
        listing = await client.listExercises(token, inline);
      }
      for (const rejected of listing.rejected) onItemError(rejected);
      let fetched = 0;
      for (const item of listing.exercises) {
        if (exercises.isComplete(userId, item.id, LISTING_INLINE)) {
          counts.exercisesSkipped++;
          continue;
        }
        try {
          await exercises.fetchExercise(userId, sourceOf(token, item), counts);
          fetched++;
        } catch (error) {
          // 401/403 concern the user, not the item: stop and let the caller mark them.
          if (error instanceof AccessLinkUnauthorizedError || error instanceof AccessLinkConsentRequiredError) throw error;
          counts.exercisesFailed++;
          onItemError(error);
          const uploadTime = uploadTimeOf(item.json);
          const ageMs = uploadTime === null ? 0 : now().getTime() - Date.parse(uploadTime);
          if (uploadTime !== null && ageMs > alertAfterMs) {
            const alert = new FetchExerciseLeavingWindowError(userId, item.id, uploadTime, ageMs / DAY_MS, { cause: error });
            onItemError(alert);
            logger.warn('fetch.listing.exercise_leaving_window', { user_id: userId, exercise_id: item.id, upload_time: uploadTime, age_days: Math.floor(ageMs / DAY_MS), error: alert });
          }
        }
      }
      logger.debug('fetch.listing.swept', { user_id: userId, listed: listing.exercises.length, fetched });
    },
  };
}


/**
 * One exercise → raw zone → `polar.fetched`, whichever channel offered it (the transactional
 * walk in ./fetch.ts or the `/v3/exercises` listing in ./fetch-listing.ts).
 *
 * Every payload is stored and recorded in the ledger before any event is published, and
 * `feeds_samples` is decided once per exercise (FIT, else TCX, else GPX) when all payloads
 * are known. The ledger keeps a payload from being downloaded or published twice, so a
 * channel may offer the same exercise as often as it likes.
 */
import type { Readable } from 'node:stream';
import { TOPICS, type Bus, type OutgoingMessage } from '../bus/bus.ts';
import type { ExerciseFileKind, ExerciseSummary } from '../accesslink/client.ts';
import { AccessLinkNotFoundError } from '../accesslink/errors.ts';
import { rawKeyFor, type RawZone } from '../lake/raw-zone.ts';
import { encodeEnvelope, type FetchedEvent, type PayloadKind } from '../records/envelope.ts';
import type { Ledger, LedgerEntry } from '../state/ledger.ts';
import type { Logger } from '../telemetry/log.ts';
import type { FetchReport } from './fetch.ts';

export const ALL_PAYLOADS: readonly PayloadKind[] = ['summary', 'tcx', 'gpx', 'fit'];

/**
 * Which payload feeds the samples and laps tables: FIT, else TCX, else GPX (see FetchedEvent).
 * Imported exercises only: a Flow export session, an HRM (its paired GPX adds positions) or a PPT XML first.
 */
export const SAMPLE_FEED_ORDER: readonly PayloadKind[] = ['flow', 'hrm', 'ppt', 'fit', 'tcx', 'gpx'];

/** The counters of FetchReport this module moves. */
export type ExerciseCounts = Pick<FetchReport, 'exercisesFetched' | 'payloadsStored' | 'payloadsSkipped' | 'payloadsAbsent' | 'bytesStored' | 'eventsPublished'>;

/** Where one exercise's payloads come from. */
export interface ExerciseSource {
  /** The id used in the ledger, raw keys and events (numeric transactional id or hashed id). */
  readonly exerciseId: string;
  /** The summary body as received; null when the API has none (204). */
  summary(): Promise<ExerciseSummary | null>;
  /** A file as a stream; null when the API has none (204). A 404 throws AccessLinkNotFoundError. */
  file(kind: ExerciseFileKind): Promise<Readable | null>;
  /**
   * Whether a 404 on a file is recorded in the ledger as absent. The transactional channel
   * says no (an expiring transaction answers 404 too, and a re-offer must fetch the file);
   * the listing channel says yes (the exercise was just listed, so the file does not exist,
   * and asking again on every sweep for 30 days would spend the shared rate limit).
   */
  readonly notFoundIsFinal: boolean;
}

export interface ExerciseFetcherOptions {
  readonly rawZone: RawZone;
  readonly ledger: Ledger;
  readonly bus: Bus;
  readonly logger: Logger;
  /** Payloads fetched per exercise, in ALL_PAYLOADS order. */
  readonly payloads: readonly PayloadKind[];
  readonly now: () => Date;
}

export interface ExerciseFetcher {
  readonly payloads: readonly PayloadKind[];
  /** Stores every payload of one exercise, then publishes its events. Throws when anything failed. */
  fetchExercise(userId: string, source: ExerciseSource, counts: ExerciseCounts): Promise<void>;
  /** Every configured payload is published or known absent: nothing left to do for this exercise. */
  isComplete(userId: string, exerciseId: string): boolean;
}

type Outcome = { readonly kind: 'stored'; readonly entry: LedgerEntry } | { readonly kind: 'absent' };

export function utcOffsetOf(summary: Record<string, unknown>): number | null {
  const value = summary['start-time-utc-offset'] ?? summary['start_time_utc_offset'];
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
}

export function createExerciseFetcher(options: ExerciseFetcherOptions): ExerciseFetcher {
  const { rawZone, ledger, bus, logger, now } = options;
  const payloads = [...options.payloads].sort((a, b) => ALL_PAYLOADS.indexOf(a) - ALL_PAYLOADS.indexOf(b));

  const absent = async (userId: string, exerciseId: string, kind: PayloadKind) =>
    ledger.record([{ userId, exerciseId, payload: kind, state: 'absent', rawKey: null, sha256: null, bytes: null, utcOffsetMin: null, atUtc: now().toISOString() }]);

  /** Downloads one payload (or reuses the ledger's record of it) and stores it. */
  const fetchPayload = async (
    userId: string, source: ExerciseSource, kind: PayloadKind, utcOffsetMin: number | null, counts: ExerciseCounts,
  ): Promise<{ outcome: Outcome; utcOffsetMin: number | null }> => {
    const exerciseId = source.exerciseId;
    const prior = ledger.get(userId, exerciseId, kind);
    if (prior?.state === 'absent') {
      counts.payloadsSkipped++;
      return { outcome: { kind: 'absent' }, utcOffsetMin };
    }
    if (prior && prior.rawKey && (await rawZone.exists(prior.rawKey))) {
      counts.payloadsSkipped++;
      return { outcome: { kind: 'stored', entry: prior }, utcOffsetMin: kind === 'summary' ? prior.utcOffsetMin : utcOffsetMin };
    }
    const rawKey = rawKeyFor(userId, exerciseId, kind);
    let body;
    let offset = utcOffsetMin;
    if (kind === 'summary') {
      // A 404 here propagates: the item is gone (a transaction may have expired), so the
      // exercise is not complete.
      const summary = await source.summary();
      if (summary) offset = utcOffsetOf(summary.json);
      body = summary?.raw ?? null;
    } else {
      try {
        body = await source.file(kind as ExerciseFileKind);
      } catch (error) {
        if (!(error instanceof AccessLinkNotFoundError)) throw error;
        counts.payloadsAbsent++;
        if (source.notFoundIsFinal) await absent(userId, exerciseId, kind);
        return { outcome: { kind: 'absent' }, utcOffsetMin: offset };
      }
    }
    if (body === null) {
      counts.payloadsAbsent++;
      await absent(userId, exerciseId, kind);
      return { outcome: { kind: 'absent' }, utcOffsetMin: offset };
    }
    const stored = await rawZone.put(rawKey, body);
    counts.payloadsStored++;
    counts.bytesStored += stored.bytes;
    logger.debug('fetch.payload.stored', { user_id: userId, exercise_id: exerciseId, payload: kind, bytes: stored.bytes });
    const entry: LedgerEntry = {
      userId, exerciseId, payload: kind, state: 'stored', rawKey: stored.key, sha256: stored.sha256, bytes: stored.bytes,
      utcOffsetMin: kind === 'summary' ? offset : null, atUtc: now().toISOString(),
    };
    // Recorded at once, so a later failure in this exercise does not cost this download again.
    await ledger.record([entry]);
    return { outcome: { kind: 'stored', entry }, utcOffsetMin: offset };
  };

  return {
    payloads,
    isComplete(userId, exerciseId) {
      return payloads.every((kind) => {
        const state = ledger.get(userId, exerciseId, kind)?.state;
        return state === 'published' || state === 'absent';
      });
    },

    async fetchExercise(userId, source, counts) {
      const exerciseId = source.exerciseId;
      const outcomes = new Map<PayloadKind, Outcome>();
      let utcOffsetMin: number | null = null;
      // Payloads of one exercise are fetched in order: the summary first, for the UTC offset.
      for (const kind of payloads) {
        const result = await fetchPayload(userId, source, kind, utcOffsetMin, counts);
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
        counts.eventsPublished += messages.length;
        await ledger.record(published);
      }
      counts.exercisesFetched++;
    },
  };
}

/**
 * The date-based sweep of the fetch stage: daily activity (`GET /v3/users/activities`) and
 * sleep (`GET /v3/users/sleep`) for every active user, each day → raw zone → `polar.fetched`.
 *
 * These endpoints are not transactional: the last 28 days stay visible and a day changes
 * when the user syncs again (steps grow, a night gets rated). So each run reads the whole
 * window (one request per user and kind) and stores a day only when its content differs
 * from what the ledger remembers:
 *
 * - one raw object per (user, kind, local date):
 *   `raw/daily/<kind>/user_id=<uid>/date=<YYYY-MM-DD>/<kind>.json.gz`. A re-synced day
 *   overwrites the same key, so the raw zone keeps the latest version of a day (the API
 *   shows only the latest too); the same key gives the same source_id, so the sink replaces
 *   the day's row rather than adding one.
 * - the ledger keeps (user, date, kind) → sha256 of the stored day; an unchanged day is
 *   neither stored nor published again, a changed one is both.
 * - each list item is stored as `JSON.stringify(item)`: the list answer is one body for 28
 *   days, and fetching every day by date would cost 28 requests per user and kind against
 *   the shared rate limit.
 *
 * Nothing is committed at Polar here, so a failure only means the next run tries again.
 */
import { createHash } from 'node:crypto';
import { TOPICS, type Bus, type OutgoingMessage } from '../bus/bus.ts';
import type { AccessLinkClient } from '../accesslink/client.ts';
import { rawDailyKeyFor, type RawZone } from '../lake/raw-zone.ts';
import { dailyActivityDate } from '../parse/daily-activity.ts';
import { DailyPayloadError } from '../parse/json-payload.ts';
import { sleepDate } from '../parse/sleep.ts';
import { DAILY_KINDS, encodeEnvelope, type DailyKind, type FetchedEvent } from '../records/envelope.ts';
import type { Ledger, LedgerEntry } from '../state/ledger.ts';
import type { Logger } from '../telemetry/log.ts';

export interface DailySweepOptions {
  readonly client: AccessLinkClient;
  readonly rawZone: RawZone;
  readonly ledger: Ledger;
  readonly bus: Bus;
  readonly logger: Logger;
  /** Date-based payloads swept. @default ['activity', 'sleep'] */
  readonly kinds?: readonly DailyKind[];
  readonly now: () => Date;
}

export interface DailySweepCounts {
  /** Days (or nights) stored and published: new, or changed since the last run. */
  daysStored: number;
  /** Days the ledger already had with the same content: neither stored nor published. */
  daysUnchanged: number;
  eventsPublished: number;
  bytesStored: number;
}

/** The local date a daily item is about, or null when it names none. */
export function dailyItemDate(kind: DailyKind, item: Record<string, unknown>): string | null {
  return kind === 'activity' ? dailyActivityDate(item) : sleepDate(item);
}

export interface DailySweep {
  readonly kinds: readonly DailyKind[];
  /** Sweeps one user's windows. Throws on request errors (the caller decides about the user). */
  sweepUser(userId: string, token: string, counts: DailySweepCounts, onItemError: (error: unknown) => void): Promise<void>;
}

export function createDailySweep(options: DailySweepOptions): DailySweep {
  const { client, rawZone, ledger, bus, logger } = options;
  const kinds = DAILY_KINDS.filter((k) => (options.kinds ?? DAILY_KINDS).includes(k));

  const sweepKind = async (userId: string, token: string, kind: DailyKind, counts: DailySweepCounts, onItemError: (error: unknown) => void) => {
    const items = await client.listDaily(kind, token);
    const messages: OutgoingMessage[] = [];
    const published: LedgerEntry[] = [];
    const at = options.now().toISOString();
    const seen = new Set<string>();
    for (const item of items) {
      const date = dailyItemDate(kind, item);
      const rawKeyHint = `GET ${kind} list of user ${userId}`;
      if (date === null) {
        onItemError(new DailyPayloadError('item names no date', rawKeyHint, 'date'));
        continue;
      }
      if (seen.has(date)) continue; // a list repeating a date: the first is as good as any, both are "latest"
      seen.add(date);
      const body = Buffer.from(JSON.stringify(item));
      const sha256 = createHash('sha256').update(body).digest('hex');
      const prior = ledger.get(userId, date, kind);
      if (prior?.sha256 === sha256 && prior.rawKey && (await rawZone.exists(prior.rawKey))) {
        if (prior.state === 'published') {
          counts.daysUnchanged++;
          continue;
        }
      } else {
        const stored = await rawZone.put(rawDailyKeyFor(userId, kind, date), body);
        counts.bytesStored += stored.storedBytes;
        // Recorded before publishing: a crash in between re-publishes this version, never loses it.
        await ledger.record([{ userId, exerciseId: date, payload: kind, state: 'stored', rawKey: stored.key, sha256: stored.sha256, bytes: stored.bytes, utcOffsetMin: null, atUtc: at }]);
      }
      const entry = ledger.get(userId, date, kind)!;
      const event: FetchedEvent = {
        type: 'fetched', user_id: userId, exercise_id: date, payload: kind, date, raw_key: entry.rawKey!, bytes: entry.bytes ?? 0,
        sha256: entry.sha256!, fetched_at_utc: at, utc_offset_min: null, feeds_samples: false,
      };
      messages.push({ key: userId, value: encodeEnvelope(event) });
      published.push({ ...entry, state: 'published', atUtc: at });
      counts.daysStored++;
    }
    if (messages.length > 0) {
      await bus.publish(TOPICS.fetched, messages);
      counts.eventsPublished += messages.length;
      await ledger.record(published);
    }
    logger.debug('fetch.daily.swept', { user_id: userId, kind, items: items.length, published: messages.length });
  };

  return {
    kinds,
    async sweepUser(userId, token, counts, onItemError) {
      for (const kind of kinds) await sweepKind(userId, token, kind, counts, onItemError);
    },
  };
}

/**
 * The date-based sweep of the fetch stage: every data type of src/daily/endpoints.ts (daily
 * activity, sleep, Nightly Recharge, continuous heart rate, cardio load, SleepWise, Elixir
 * biosensing) for every active user, each day → raw zone → `polar.fetched`.
 *
 * These endpoints are not transactional: the last 28 days (activity: 365) stay visible and a
 * day changes when the user syncs again. So each run reads the type's lookback (one list
 * request per user and type, or one per `maxRangeDays` chunk when a range is needed) and
 * stores a day only when its content differs from what the ledger remembers:
 *
 * - one raw object per (user, type, local date):
 *   `raw/daily/<kind>/user_id=<uid>/date=<YYYY-MM-DD>/<kind>.json.gz`, holding the day's item
 *   (`JSON.stringify(item)`), or the array of its items for types with several a day (ECG
 *   tests, temperature periods). A re-synced day overwrites the same key, so the raw zone
 *   keeps the latest version of a day (the API shows only the latest too); the same key
 *   gives the same source_id, so the sink replaces the day's rows rather than adding some.
 * - the ledger keeps (user, date, type) → sha256 of the stored day (the item version): an
 *   unchanged day is neither stored nor published again, a changed one is both.
 * - the ledger also keeps a cursor per (user, type) (`@sweep`, state `swept`): when the type
 *   was last read. A type read less than its `every` ago is not due and costs no request.
 *
 * Nothing is committed at Polar here, so a failure only means the next run tries again.
 */
import { createHash } from 'node:crypto';
import { TOPICS, type Bus, type OutgoingMessage } from '../bus/bus.ts';
import type { AccessLinkClient } from '../accesslink/client.ts';
import { dateBasedEndpoint, type DateBasedEndpoint } from '../daily/endpoints.ts';
import { rawDailyKeyFor, type RawZone } from '../lake/raw-zone.ts';
import { DailyPayloadError } from '../parse/json-payload.ts';
import { DAILY_KINDS, encodeEnvelope, type DailyKind, type FetchedEvent } from '../records/envelope.ts';
import type { Ledger, LedgerEntry } from '../state/ledger.ts';
import type { Logger } from '../telemetry/log.ts';

/** How often a type is read and how far back. */
export interface DailySchedule {
  /** A type read less than this long ago is skipped. @default 0 (every run) */
  readonly everyMs: number;
  /** Days read back from today (UTC), today included; capped at the endpoint's window. @default the window (activity: 28) */
  readonly lookbackDays: number;
}

export interface DailySweepOptions {
  readonly client: AccessLinkClient;
  readonly rawZone: RawZone;
  readonly ledger: Ledger;
  readonly bus: Bus;
  readonly logger: Logger;
  /** Date-based types swept. @default ['activity', 'sleep'] */
  readonly kinds?: readonly DailyKind[];
  /** Per-type schedule; a type without one is read on every run over its default lookback. */
  readonly schedule?: Readonly<Partial<Record<DailyKind, Partial<DailySchedule>>>>;
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

/** The item id of the per-(user, type) sweep cursor in the ledger. */
export const SWEEP_CURSOR_ID = '@sweep';

const DAY_MS = 86_400_000;

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The local date a daily item is about, or null when it names none. */
export function dailyItemDate(kind: DailyKind, item: Record<string, unknown>): string | null {
  return dateBasedEndpoint(kind).dateOf(item);
}

/** Default lookback of a type: its list call's window (activity: the 28 days its list gives by default). */
export function defaultLookbackDays(kind: DailyKind): number {
  return Math.min(28, dateBasedEndpoint(kind).windowDays);
}

/**
 * The requests that read `lookbackDays` dates back from `today` (UTC date): the plain list
 * when it covers them, else `from`/`to` chunks of at most `maxRangeDays` ending today.
 * `minDate`: days before it are dropped from the answers (a plain list reaching further back
 * than asked).
 */
export function planRequests(endpoint: DateBasedEndpoint, today: string, lookbackDays: number): { requests: { path: string; query: Record<string, string> }[]; minDate: string } {
  const days = Math.max(1, Math.min(lookbackDays, endpoint.windowDays));
  const { path, rangePath, maxRangeDays } = endpoint.list;
  // Every plain list answers the last 28 days (or the whole window when shorter).
  const listDays = Math.min(28, endpoint.windowDays);
  const extra = endpoint.list.query ?? {};
  if (path !== null && (days === listDays || rangePath === null)) return { requests: [{ path, query: { ...extra } }], minDate: addDays(today, -(days - 1)) };
  // A range ends today (UTC), never in the future: what an API may refuse is not documented,
  // and a refused range would cost the whole type. A user east of UTC gets their newest local
  // day after UTC midnight (or at once through a webhook naming the date: fetchDay).
  const last = today;
  const minDate = addDays(last, -(days - 1));
  const requests: { path: string; query: Record<string, string> }[] = [];
  for (let from = minDate; from <= last; from = addDays(from, maxRangeDays)) {
    const to = addDays(from, maxRangeDays - 1);
    requests.push({ path: rangePath as string, query: { ...extra, from, to: to < last ? to : last } });
  }
  return { requests, minDate };
}

function fetchedEvent(entry: LedgerEntry, date: string, at: string): FetchedEvent {
  return {
    type: 'fetched', user_id: entry.userId, exercise_id: date, payload: entry.payload, date, raw_key: entry.rawKey!, bytes: entry.bytes ?? 0,
    sha256: entry.sha256!, fetched_at_utc: at, utc_offset_min: null, feeds_samples: false,
  };
}

export interface DailySweep {
  readonly kinds: readonly DailyKind[];
  /** Sweeps one user's due types. Throws on request errors (the caller decides about the user). */
  sweepUser(userId: string, token: string, counts: DailySweepCounts, onItemError: (error: unknown) => void): Promise<void>;
  /** Fetches one date of one type (a webhook's date): its per-date call, stored and published as the sweep does. */
  fetchDay(userId: string, token: string, kind: DailyKind, date: string, counts: DailySweepCounts, onItemError: (error: unknown) => void): Promise<void>;
}

export function createDailySweep(options: DailySweepOptions): DailySweep {
  const { client, rawZone, ledger, bus, logger } = options;
  const kinds = DAILY_KINDS.filter((k) => (options.kinds ?? ['activity', 'sleep']).includes(k));

  /**
   * Groups items by date and stores and publishes each day that is new or changed. `after`
   * (the sweep cursor) is appended with the published entries, in the same durable append.
   */
  const storeDays = async (userId: string, kind: DailyKind, items: readonly unknown[], minDate: string | null, counts: DailySweepCounts, onItemError: (error: unknown) => void, after: readonly LedgerEntry[] = []) => {
    const endpoint = dateBasedEndpoint(kind);
    const byDate = new Map<string, Record<string, unknown>[]>();
    for (const raw of items) {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
        onItemError(new DailyPayloadError('item is not an object', `GET ${kind} list of user ${userId}`, '$'));
        continue;
      }
      const item = raw as Record<string, unknown>;
      const date = endpoint.dateOf(item);
      if (date === null) {
        onItemError(new DailyPayloadError('item names no date', `GET ${kind} list of user ${userId}`, 'date'));
        continue;
      }
      if (minDate !== null && date < minDate) continue;
      const list = byDate.get(date);
      if (list) list.push(item);
      else byDate.set(date, [item]);
    }
    const messages: OutgoingMessage[] = [];
    const stored: LedgerEntry[] = [];
    const published: LedgerEntry[] = [];
    const at = options.now().toISOString();
    for (const [date, dayItems] of [...byDate].sort(([a], [b]) => (a < b ? -1 : 1))) {
      // A list repeating a date for a one-a-day type: the first is as good as any, both are "latest".
      const body = Buffer.from(JSON.stringify(endpoint.manyPerDate ? dayItems : dayItems[0]));
      const sha256 = createHash('sha256').update(body).digest('hex');
      const prior = ledger.get(userId, date, kind);
      let entry: LedgerEntry;
      if (prior?.sha256 === sha256 && prior.rawKey && (await rawZone.exists(prior.rawKey))) {
        if (prior.state === 'published') {
          counts.daysUnchanged++;
          continue;
        }
        entry = prior;
      } else {
        const put = await rawZone.put(rawDailyKeyFor(userId, kind, date), body);
        counts.bytesStored += put.storedBytes;
        entry = { userId, exerciseId: date, payload: kind, state: 'stored', rawKey: put.key, sha256: put.sha256, bytes: put.bytes, utcOffsetMin: null, atUtc: at };
        stored.push(entry);
      }
      messages.push({ key: userId, value: encodeEnvelope(fetchedEvent(entry, date, at)) });
      published.push({ ...entry, state: 'published', atUtc: at });
      counts.daysStored++;
      // Days of dependent types parsed without this one are parsed again, now with it.
      for (const dependent of endpoint.dependents ?? []) {
        const other = ledger.get(userId, date, dependent);
        if (other?.state === 'published' && other.rawKey && other.sha256) messages.push({ key: userId, value: encodeEnvelope(fetchedEvent(other, date, at)) });
      }
    }
    // The days stored are recorded (one append) before publishing: a crash in between
    // re-publishes these versions, never loses them. A crash before it only stores them again.
    await ledger.record(stored);
    if (messages.length > 0) {
      await bus.publish(TOPICS.fetched, messages);
      counts.eventsPublished += messages.length;
    }
    await ledger.record([...published, ...after]);
    return published.length;
  };

  const isDue = (userId: string, kind: DailyKind, nowMs: number): boolean => {
    const everyMs = options.schedule?.[kind]?.everyMs ?? 0;
    if (everyMs <= 0) return true;
    const cursor = ledger.get(userId, SWEEP_CURSOR_ID, kind);
    return !cursor || nowMs - Date.parse(cursor.atUtc) >= everyMs;
  };

  const sweepKind = async (userId: string, token: string, kind: DailyKind, counts: DailySweepCounts, onItemError: (error: unknown) => void) => {
    const now = options.now();
    if (!isDue(userId, kind, now.getTime())) return;
    const endpoint = dateBasedEndpoint(kind);
    const lookback = options.schedule?.[kind]?.lookbackDays ?? defaultLookbackDays(kind);
    const { requests, minDate } = planRequests(endpoint, now.toISOString().slice(0, 10), lookback);
    const items: unknown[] = [];
    for (const r of requests) {
      const json = await client.getDateBased(r.path, r.query, token, endpoint.list.noData);
      if (json !== null) items.push(...endpoint.items(json));
    }
    const cursor: LedgerEntry = { userId, exerciseId: SWEEP_CURSOR_ID, payload: kind, state: 'swept', rawKey: null, sha256: null, bytes: null, utcOffsetMin: null, atUtc: now.toISOString() };
    const published = await storeDays(userId, kind, items, minDate, counts, onItemError, [cursor]);
    logger.debug('fetch.daily.swept', { user_id: userId, kind, requests: requests.length, items: items.length, published });
  };

  return {
    kinds,
    async sweepUser(userId, token, counts, onItemError) {
      for (const kind of kinds) await sweepKind(userId, token, kind, counts, onItemError);
    },
    async fetchDay(userId, token, kind, date, counts, onItemError) {
      const endpoint = dateBasedEndpoint(kind);
      const { path, query } = endpoint.byDate.request(date);
      const json = await client.getDateBased(path, query, token, endpoint.byDate.noData);
      await storeDays(userId, kind, json === null ? [] : endpoint.items(json), null, counts, onItemError);
    },
  };
}

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
 * - a type with a probe (sleep: `/sleep/available`, one small answer naming each night's date,
 *   start and end) is read probe first: the ledger remembers each date's probed version
 *   (`<date>@available`), and only dates that are new or whose version changed are read in
 *   full: one by its per-date call, several by the list (one request either way). A night
 *   edited without moving its start or end (a rating) comes through its SLEEP webhook, which
 *   reads the date directly (fetchDay).
 *
 * Nothing is committed at Polar here, so a failure only means the next run tries again.
 */
import { createHash } from 'node:crypto';
import { TOPICS, type Bus, type OutgoingMessage } from '../bus/bus.ts';
import type { AccessLinkClient } from '../accesslink/client.ts';
import { dateBasedEndpoint, type DateBasedEndpoint } from '../daily/endpoints.ts';
import { probedNights, type ProbedNight } from '../daily/sleep-available.ts';
import { rawDailyKeyFor, type RawZone } from '../lake/raw-zone.ts';
import { DailyPayloadError } from '../parse/json-payload.ts';
import { DAILY_KINDS, encodeEnvelope, type DailyKind, type FetchedEvent } from '../records/envelope.ts';
import type { Ledger, LedgerEntry } from '../state/ledger.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Deferral } from './fetch-budget.ts';
import type { DailyBudget } from './fetch-daily-budget.ts';

/** How often a type is read and how far back. */
export interface DailySchedule {
  /** A type read less than this long ago is skipped. @default 0 (every run) */
  readonly everyMs: number;
  /** Days read back from today (UTC), today included; capped at the endpoint's window. @default the window (activity: 28) */
  readonly lookbackDays: number;
  /**
   * Read a type that has a probe (sleep: `/sleep/available`) probe first. It saves bytes, not
   * requests: an unchanged 28 days cost one small answer instead of the full list, but a
   * changed night costs the probe and a read (2 requests where the list is 1), so it is off by
   * default, where the request budget is what is short. @default false
   */
  readonly probe?: boolean;
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
  /** Asked before each user's sweep; a user it cannot cover is deferred (./fetch-daily-budget.ts). @default none: every due user is swept */
  readonly budget?: DailyBudget;
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

/** The ledger item id remembering the probed version of a date (`2026-03-01@available`, state `swept`). */
export const probeId = (date: string): string => `${date}@available`;

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
 * when it covers them, else `from`/`to` chunks of at most `maxRangeDays` ending today, or,
 * beyond the window, the type's history call (cardio load's period) when it has one.
 * `minDate`: days before it are dropped from the answers (a plain list reaching further back
 * than asked).
 */
export function planRequests(endpoint: DateBasedEndpoint, today: string, lookbackDays: number): { requests: { path: string; query: Record<string, string> }[]; minDate: string } {
  const days = Math.max(1, Math.min(lookbackDays, endpoint.history?.windowDays ?? endpoint.windowDays));
  // Beyond the window (a backfill): the type's history call, one request back from today.
  if (endpoint.history && days > endpoint.windowDays) return { requests: [endpoint.history.request(days)], minDate: addDays(today, -(days - 1)) };
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
  /**
   * Sweeps one user's due types, unless the budget cannot cover them (plus `extraCost`
   * requests the caller makes for the user after it): then nothing is requested, the types
   * stay due and the deferral is returned. Throws on request errors (the caller decides about the user).
   */
  sweepUser(userId: string, token: string, counts: DailySweepCounts, onItemError: (error: unknown) => void, extraCost?: number): Promise<Deferral | null>;
  /** The users in sweep order: never swept first, then the longest since their oldest type was read (so deferred users go first next time). */
  stalestFirst(userIds: readonly string[]): string[];
  /** Fetches one date of one type (a webhook's date): its per-date call, stored and published as the sweep does. */
  fetchDay(userId: string, token: string, kind: DailyKind, date: string, counts: DailySweepCounts, onItemError: (error: unknown) => void): Promise<void>;
}

export function createDailySweep(options: DailySweepOptions): DailySweep {
  const { client, rawZone, ledger, bus, logger } = options;
  const kinds = DAILY_KINDS.filter((k) => (options.kinds ?? ['activity', 'sleep']).includes(k));
  // A swept type that replaces part of another's calls (activity_samples: activity's sample flags).
  const replacing = new Map<DailyKind, { by: DailyKind; query: readonly string[] }>();
  for (const k of kinds) {
    const r = dateBasedEndpoint(k).replacesQueryOf;
    if (r) replacing.set(r.kind, { by: k, query: r.query });
  }
  const request = (kind: DailyKind, r: { path: string; query: Record<string, string> }) => {
    const dropped = replacing.get(kind)?.query;
    return dropped ? { path: r.path, query: Object.fromEntries(Object.entries(r.query).filter(([name]) => !dropped.includes(name))) } : r;
  };

  /**
   * Groups items by date and stores and publishes each day that is new or changed. What
   * `after` returns for the days published (the sweep cursor, probed versions) goes in the same
   * durable append as them.
   */
  const storeDays = async (
    userId: string, kind: DailyKind, items: readonly unknown[], minDate: string | null, counts: DailySweepCounts, onItemError: (error: unknown) => void,
    after: (published: readonly LedgerEntry[]) => readonly LedgerEntry[] = () => [],
  ) => {
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
    await ledger.record([...published, ...after(published)]);
    return published.length;
  };

  const isDue = (userId: string, kind: DailyKind, nowMs: number): boolean => {
    const everyMs = options.schedule?.[kind]?.everyMs ?? 0;
    if (everyMs <= 0) return true;
    const cursor = ledger.get(userId, SWEEP_CURSOR_ID, kind);
    return !cursor || nowMs - Date.parse(cursor.atUtc) >= everyMs;
  };

  const planFor = (kind: DailyKind, now: Date) =>
    planRequests(dateBasedEndpoint(kind), now.toISOString().slice(0, 10), options.schedule?.[kind]?.lookbackDays ?? defaultLookbackDays(kind));
  const probeOf = (kind: DailyKind) => (options.schedule?.[kind]?.probe ? dateBasedEndpoint(kind).probe : undefined);
  // At most: the probe (when used) and the planned list calls.
  const costOf = (kind: DailyKind, now: Date) => planFor(kind, now).requests.length + (probeOf(kind) ? 1 : 0);

  const sweepKind = async (userId: string, token: string, kind: DailyKind, counts: DailySweepCounts, onItemError: (error: unknown) => void) => {
    const now = options.now();
    if (!isDue(userId, kind, now.getTime())) return;
    const endpoint = dateBasedEndpoint(kind);
    const planned = planFor(kind, now);
    const { minDate } = planned;
    let requests = planned.requests.map((r) => request(kind, r));
    let probed: ProbedNight[] = [];
    const probe = probeOf(kind);
    if (probe) {
      // The cheap listing first; full items only for dates new or changed since the ledger's version.
      const answer = await client.getDateBased(probe.path, {}, token, probe.noData);
      const where = `GET ${probe.path} of user ${userId}`;
      const listed = probedNights(answer, (i, why) => onItemError(new DailyPayloadError(why, where, `available[${i}]`))).filter((n) => n.date >= minDate);
      probed = listed.filter((n) => ledger.get(userId, probeId(n.date), kind)?.sha256 !== n.version || ledger.get(userId, n.date, kind)?.state !== 'published');
      counts.daysUnchanged += listed.length - probed.length;
      // One changed date: its own call. Several: the list, one request for all of them.
      requests = probed.length === 0 ? [] : probed.length === 1 ? [request(kind, endpoint.byDate.request(probed[0]!.date))] : requests;
    }
    const items: unknown[] = [];
    for (const r of requests) {
      const noData = probe && probed.length === 1 ? endpoint.byDate.noData : endpoint.list.noData;
      const json = await client.getDateBased(r.path, r.query, token, noData);
      if (json !== null) items.push(...endpoint.items(json));
    }
    const cursor: LedgerEntry = { userId, exerciseId: SWEEP_CURSOR_ID, payload: kind, state: 'swept', rawKey: null, sha256: null, bytes: null, utcOffsetMin: null, atUtc: now.toISOString() };
    // The cursor and the probed versions go in the same durable append as the published days.
    // A probed version is remembered only once its date is published: a failure asks again next run.
    const published = await storeDays(userId, kind, items, minDate, counts, onItemError, (days) => {
      const now = new Set(days.map((d) => d.exerciseId));
      const versions = probed.filter((n) => now.has(n.date) || ledger.get(userId, n.date, kind)?.state === 'published')
        .map((n): LedgerEntry => ({ userId, exerciseId: probeId(n.date), payload: kind, state: 'swept', rawKey: null, sha256: n.version, bytes: null, utcOffsetMin: null, atUtc: cursor.atUtc }));
      return [...versions, cursor];
    });
    logger.debug('fetch.daily.swept', { user_id: userId, kind, requests: requests.length + (probe ? 1 : 0), items: items.length, published });
  };

  const fetchDay: DailySweep['fetchDay'] = async (userId, token, kind, date, counts, onItemError) => {
    const endpoint = dateBasedEndpoint(kind);
    const { path, query } = request(kind, endpoint.byDate.request(date));
    const json = await client.getDateBased(path, query, token, endpoint.byDate.noData);
    await storeDays(userId, kind, json === null ? [] : endpoint.items(json), null, counts, onItemError);
    // The type that took over part of this one's data is fetched for the date too (ACTIVITY_SUMMARY → its samples).
    const by = replacing.get(kind)?.by;
    if (by) await fetchDay(userId, token, by, date, counts, onItemError);
  };

  return {
    kinds,
    async sweepUser(userId, token, counts, onItemError, extraCost = 0) {
      const now = options.now();
      const due = kinds.filter((k) => isDue(userId, k, now.getTime()));
      const cost = due.reduce((n, k) => n + costOf(k, now), extraCost);
      const reservation = options.budget && cost > 0 ? options.budget.tryReserve(cost) : { release() {} };
      if (!('release' in reservation)) return reservation;
      try {
        for (const kind of due) await sweepKind(userId, token, kind, counts, onItemError);
      } finally {
        reservation.release();
      }
      return null;
    },
    stalestFirst(userIds) {
      const lastRead = (userId: string) => Math.min(...kinds.map((k) => {
        const cursor = ledger.get(userId, SWEEP_CURSOR_ID, k);
        return cursor ? Date.parse(cursor.atUtc) : -Infinity;
      }));
      // Stable: users swept at the same instant keep the registry's order.
      return userIds.map((id, i) => ({ id, i, at: lastRead(id) })).sort((a, b) => a.at - b.at || a.i - b.i).map((u) => u.id);
    },
    fetchDay,
  };
}

/**
 * Daily activity and physical information, both API generations → raw zone → `polar.fetched`.
 *
 * Transactional (legacy, driven by ACTIVITY_SUMMARY / PHYSICAL_INFORMATION pull
 * notifications through ./fetch-transactions.ts):
 * - an activity item is three payloads: the summary, `/step-samples` and `/zone-samples`.
 *   Each is stored verbatim under the day's key (`raw/daily/<kind>/user_id=/date=/...`, the
 *   device-local `date` of the summary), so a later summary of the same day (a re-sync comes
 *   as a new item) replaces the day's rows. The ledger keeps (user, item id, payload), so a
 *   re-offered transaction downloads nothing twice. The summary shares its key with the
 *   day of `/v3/users/activities`; the day's ledger entry is moved to the stored version so the
 *   date-based sweep sees the change and writes its own (richer) version back.
 * - a physical-information item is one snapshot.
 *
 * Current: `GET /v3/users/physical-info` is read on every sweep and stored only when its
 * snapshot (`modified`, else `created`) is new. (Current daily activity, with its sample parts,
 * is a date-based type of src/daily/endpoints.ts.)
 *
 * Physical-information snapshots are keyed `raw/physical/user_id=/snapshot=<modified>/`: the
 * same snapshot seen twice (both channels, every poll) is one object and one row.
 */
import { TOPICS, type Bus } from '../bus/bus.ts';
import type { AccessLinkClient, JsonBody } from '../accesslink/client.ts';
import { parseRawKey, validateRawId, rawDailyKeyFor, rawPhysicalKeyFor, type RawZone } from '../lake/raw-zone.ts';
import { dailyActivityDate } from '../parse/daily-activity.ts';
import { DailyPayloadError, readDateTime } from '../parse/json-payload.ts';
import { encodeEnvelope, type FetchedEvent, type PayloadKind } from '../records/envelope.ts';
import type { Ledger, LedgerEntry } from '../state/ledger.ts';
import type { Logger } from '../telemetry/log.ts';
import type { TransactionChannel, TransactionCounts } from './fetch-transactions.ts';

export interface ActivityCounts extends TransactionCounts {
  /** Legacy activity items (days) whose payloads are all stored and published. */
  activityItemsFetched: number;
  /** Physical-information snapshots stored (new snapshots only). */
  physicalSnapshotsStored: number;
  payloadsStored: number;
  payloadsSkipped: number;
  payloadsAbsent: number;
  bytesStored: number;
  eventsPublished: number;
}

export interface ActivityFetcherOptions {
  readonly client: AccessLinkClient;
  readonly rawZone: RawZone;
  readonly ledger: Ledger;
  readonly bus: Bus;
  readonly logger: Logger;
  readonly now: () => Date;
}

export interface ActivityFetcher {
  /** The transactional activity channel (summary, step samples, zone samples per item). */
  readonly activityChannel: TransactionChannel<ActivityCounts>;
  /** The transactional physical-information channel. */
  readonly physicalChannel: TransactionChannel<ActivityCounts>;
  /** `GET /v3/users/physical-info`: stores the snapshot when it is new. */
  fetchPhysicalInfo(userId: string, token: string, counts: ActivityCounts): Promise<void>;
}

/** `2025-01-02T10:11:12.345Z` → `20250102T101112345Z` (a path segment that sorts by time). */
export function snapshotStamp(json: unknown, file: string): string {
  const o = (json && typeof json === 'object' && !Array.isArray(json) ? json : {}) as Record<string, unknown>;
  const value = o['modified'] ?? o['created'];
  const t = readDateTime(value);
  if (!t) throw new DailyPayloadError('physical information has no modified or created date-time', file, 'modified');
  const iso = new Date(Math.floor(t.utcUs / 1000)).toISOString();
  const micros = String(t.utcUs % 1_000_000).padStart(6, '0');
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${micros}Z`;
}

function itemIdFromUrl(url: string): string {
  const segments = new URL(url).pathname.split('/').filter(Boolean);
  return validateRawId('item id', segments[segments.length - 1] ?? '');
}


export function createActivityFetcher(options: ActivityFetcherOptions): ActivityFetcher {
  const { client, rawZone, ledger, bus, logger, now } = options;

  const publish = async (entries: { entry: LedgerEntry; event: FetchedEvent }[], counts: ActivityCounts) => {
    if (entries.length === 0) return;
    await bus.publish(TOPICS.fetched, entries.map(({ event }) => ({ key: event.user_id, value: encodeEnvelope(event) })));
    counts.eventsPublished += entries.length;
    const at = now().toISOString();
    await ledger.record(entries.map(({ entry }) => ({ ...entry, state: 'published', atUtc: at })));
  };

  const eventFor = (entry: LedgerEntry, itemKey: string, payload: PayloadKind, date: string | null): FetchedEvent => ({
    type: 'fetched', user_id: entry.userId, exercise_id: itemKey, payload, ...(date === null ? {} : { date }),
    raw_key: entry.rawKey!, bytes: entry.bytes ?? 0, sha256: entry.sha256!, fetched_at_utc: now().toISOString(), utc_offset_min: null, feeds_samples: false,
  });

  /** Stores `body` under `rawKey` and records it against (user, ledgerId, payload). */
  const store = async (userId: string, ledgerId: string, payload: PayloadKind, rawKey: string, body: Buffer, counts: ActivityCounts): Promise<LedgerEntry> => {
    const stored = await rawZone.put(rawKey, body);
    counts.payloadsStored++;
    counts.bytesStored += stored.storedBytes;
    const entry: LedgerEntry = {
      userId, exerciseId: ledgerId, payload, state: 'stored', rawKey: stored.key, sha256: stored.sha256, bytes: stored.bytes, utcOffsetMin: null, atUtc: now().toISOString(),
    };
    // Recorded at once: a later failure in this item does not cost this download again.
    await ledger.record([entry]);
    return entry;
  };

  const isDone = async (entry: LedgerEntry | undefined): Promise<boolean> =>
    entry?.state === 'absent' || (entry?.state === 'published' && entry.rawKey !== null && (await rawZone.exists(entry.rawKey)));

  const activityChannel: TransactionChannel<ActivityCounts> = {
    type: 'activity',
    async fetchItem(userId, token, itemUrl, counts) {
      const itemId = itemIdFromUrl(itemUrl);
      const parts = ['activity', 'activity_steps', 'activity_zones'] as const;
      const prior = parts.map((p) => ledger.get(userId, itemId, p));
      const done = await Promise.all(prior.map(isDone));
      if (done.every(Boolean)) {
        counts.payloadsSkipped += parts.length;
        return;
      }
      // A summary stored by an earlier offer names the day in its key: no need to download it again.
      const storedSummary = prior[0]?.state === 'stored' && prior[0].rawKey && (await rawZone.exists(prior[0].rawKey)) ? parseRawKey(prior[0].rawKey) : null;
      const summary = storedSummary?.area === 'daily' ? { raw: Buffer.alloc(0), json: { date: storedSummary.date } } : await client.getJson(itemUrl, token);
      if (summary === null) {
        // 204: the item has no data; nothing to store for it.
        await ledger.record(parts.map((p) => ({ userId, exerciseId: itemId, payload: p, state: 'absent', rawKey: null, sha256: null, bytes: null, utcOffsetMin: null, atUtc: now().toISOString() })));
        counts.payloadsAbsent += parts.length;
        return;
      }
      const date = dailyActivityDate(summary.json);
      if (date === null) throw new DailyPayloadError('activity item names no date', itemUrl, 'date');
      const toPublish: { entry: LedgerEntry; event: FetchedEvent }[] = [];
      const bodies: Record<(typeof parts)[number], () => Promise<JsonBody | null>> = {
        activity: async () => summary,
        activity_steps: () => client.getJson(itemUrl, token, 'step-samples'),
        activity_zones: () => client.getJson(itemUrl, token, 'zone-samples'),
      };
      for (const [i, part] of parts.entries()) {
        let entry = prior[i];
        if (done[i]) {
          counts.payloadsSkipped++;
          continue;
        }
        if (!(entry?.state === 'stored' && entry.rawKey && (await rawZone.exists(entry.rawKey)))) {
          const body = await bodies[part]();
          if (body === null) {
            await ledger.record([{ userId, exerciseId: itemId, payload: part, state: 'absent', rawKey: null, sha256: null, bytes: null, utcOffsetMin: null, atUtc: now().toISOString() }]);
            counts.payloadsAbsent++;
            continue;
          }
          entry = await store(userId, itemId, part, rawDailyKeyFor(userId, part, date), body.raw, counts);
          if (part === 'activity') {
            // The day's key now holds this version: tell the date-based sweep, so it stores its own again.
            await ledger.record([{ ...entry, exerciseId: date, state: 'published' }]);
          }
        }
        toPublish.push({ entry: entry!, event: eventFor(entry!, date, part, date) });
      }
      await publish(toPublish, counts);
      counts.activityItemsFetched++;
      logger.debug('fetch.activity.item_stored', { user_id: userId, item_id: itemId, date, published: toPublish.length });
    },
  };

  /** One snapshot, from either generation: stored and published once per `modified`. */
  const storeSnapshot = async (userId: string, body: JsonBody, file: string, counts: ActivityCounts): Promise<void> => {
    const stamp = snapshotStamp(body.json, file);
    const prior = ledger.get(userId, stamp, 'physical');
    if (await isDone(prior)) {
      counts.payloadsSkipped++;
      return;
    }
    const entry = prior?.state === 'stored' && prior.rawKey && (await rawZone.exists(prior.rawKey))
      ? prior
      : await store(userId, stamp, 'physical', rawPhysicalKeyFor(userId, stamp), body.raw, counts);
    await publish([{ entry, event: eventFor(entry, stamp, 'physical', null) }], counts);
    counts.physicalSnapshotsStored++;
  };

  const physicalChannel: TransactionChannel<ActivityCounts> = {
    type: 'physical',
    async fetchItem(userId, token, itemUrl, counts) {
      const body = await client.getJson(itemUrl, token);
      if (body === null) {
        counts.payloadsAbsent++;
        return;
      }
      await storeSnapshot(userId, body, itemUrl, counts);
    },
  };

  return {
    activityChannel,
    physicalChannel,
    async fetchPhysicalInfo(userId, token, counts) {
      const body = await client.getPhysicalInfo(token);
      if (body === null) {
        counts.payloadsAbsent++;
        return;
      }
      await storeSnapshot(userId, body, `GET /v3/users/physical-info of user ${userId}`, counts);
    },
  };
}

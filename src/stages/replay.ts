/**
 * Replay from the raw zone, the source of truth: announces every stored raw object on
 * `polar.fetched` again, as the fetch stage first did, so parse and sink rebuild the tables
 * (after a parser fix or a schema change). Source ids derive from raw keys, so the sink
 * recognises each source and replaces or skips its rows: nothing doubles.
 */
import { TOPICS, type Bus } from '../bus/bus.ts';
import { parseRawKey, type RawZone } from '../lake/raw-zone.ts';
import { encodeEnvelope, type FetchedEvent, type PayloadKind } from '../records/envelope.ts';
import { SAMPLE_FEED_ORDER, utcOffsetOf } from './fetch-exercise.ts';
import { crashPoint } from '../crash-points.ts';

export interface ReplayFilter {
  /** Only these payloads (e.g. the summaries, to rebuild `exercises`). @default all */
  readonly payloads?: readonly PayloadKind[];
  /** Only these users. @default all */
  readonly users?: readonly string[];
  /** Only raw objects dated on or after this local date (`YYYY-MM-DD`): the exercise's start, or the day. */
  readonly since?: string;
  /** Only raw objects dated on or before this local date (`YYYY-MM-DD`). */
  readonly until?: string;
}

/** The events of one exercise (announced together: the samples feeder is chosen among them) or one day. */
export interface ReplayItem {
  readonly userId: string;
  /** The local date the item is about; null when no summary tells it (a date filter then leaves it out). */
  readonly date: string | null;
  readonly events: readonly FetchedEvent[];
}

/** Which events a replay announces, one item per exercise or day, filtered. */
export async function* planReplay(rawZone: RawZone, filter: ReplayFilter = {}): AsyncGenerator<ReplayItem> {
  const wanted = (p: PayloadKind) => !filter.payloads || filter.payloads.includes(p);
  const userWanted = (u: string) => !filter.users || filter.users.includes(u);
  const dated = filter.since !== undefined || filter.until !== undefined;
  const inRange = (date: string | null) =>
    !dated || (date !== null && (filter.since === undefined || date >= filter.since) && (filter.until === undefined || date <= filter.until));
  const at = new Date().toISOString();
  // An exercise's payloads are announced together, so the samples feeder follows fetch's rule.
  const exercises = new Map<string, { userId: string; exerciseId: string; keys: Map<PayloadKind, string> }>();
  for await (const key of rawZone.list('raw/')) {
    const parsed = parseRawKey(key);
    if (!parsed || !userWanted(parsed.userId)) continue;
    if (parsed.area === 'daily') {
      if (!wanted(parsed.payload) || !inRange(parsed.date)) continue;
      const event: FetchedEvent = {
        type: 'fetched', user_id: parsed.userId, exercise_id: parsed.date, date: parsed.date, payload: parsed.payload,
        raw_key: key, bytes: 0, sha256: '', fetched_at_utc: at, utc_offset_min: null, feeds_samples: false,
      };
      yield { userId: parsed.userId, date: parsed.date, events: [event] };
      continue;
    }
    if (parsed.area === 'physical') {
      if (!wanted(parsed.payload)) continue;
      const event: FetchedEvent = {
        type: 'fetched', user_id: parsed.userId, exercise_id: parsed.snapshot, payload: 'physical',
        raw_key: key, bytes: 0, sha256: '', fetched_at_utc: at, utc_offset_min: null, feeds_samples: false,
      };
      yield { userId: parsed.userId, date: null, events: [event] };
      continue;
    }
    const id = `${parsed.userId}/${parsed.exerciseId}`;
    const entry = exercises.get(id) ?? { userId: parsed.userId, exerciseId: parsed.exerciseId, keys: new Map<PayloadKind, string>() };
    entry.keys.set(parsed.payload, key);
    exercises.set(id, entry);
  }
  for (const { userId, exerciseId, keys } of exercises.values()) {
    const feeder = SAMPLE_FEED_ORDER.find((p) => keys.has(p));
    const { offset, date } = await summaryFacts(rawZone, keys.get('summary'));
    if (!inRange(date)) continue;
    const events: FetchedEvent[] = [...keys]
      .filter(([payload]) => wanted(payload))
      .map(([payload, rawKey]) => ({
        type: 'fetched', user_id: userId, exercise_id: exerciseId, payload, raw_key: rawKey, bytes: 0, sha256: '',
        fetched_at_utc: at, utc_offset_min: offset, feeds_samples: payload === feeder,
      }));
    if (events.length > 0) yield { userId, date, events };
  }
}

/** Announces one item's events on polar.fetched. */
export async function announce(bus: Bus, item: ReplayItem): Promise<void> {
  await bus.publish(TOPICS.fetched, item.events.map((e) => ({ key: item.userId, value: encodeEnvelope(e) })));
}

/** Publishes the events; resolves with how many. */
export async function replayRawZone(rawZone: RawZone, bus: Bus, filter: ReplayFilter = {}): Promise<number> {
  let published = 0;
  for await (const item of planReplay(rawZone, filter)) {
    await announce(bus, item);
    crashPoint('replay.publish');
    published += item.events.length;
  }
  return published;
}

/** The summary's local offset (file parsers give local times from it where a file has none) and local start date. */
async function summaryFacts(rawZone: RawZone, key: string | undefined): Promise<{ offset: number | null; date: string | null }> {
  if (!key) return { offset: null, date: null };
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of rawZone.open(key)) chunks.push(chunk as Buffer);
    const summary = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const start = summary['start-time'] ?? summary['start_time'];
    return { offset: utcOffsetOf(summary), date: typeof start === 'string' && /^\d{4}-\d{2}-\d{2}/.test(start) ? start.slice(0, 10) : null };
  } catch {
    return { offset: null, date: null }; // a broken summary is dead-lettered by the parse stage; the files still parse
  }
}

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
}

/** Publishes the events; resolves with how many. */
export async function replayRawZone(rawZone: RawZone, bus: Bus, filter: ReplayFilter = {}): Promise<number> {
  const wanted = (p: PayloadKind) => !filter.payloads || filter.payloads.includes(p);
  const at = new Date().toISOString();
  // An exercise's payloads are announced together, so the samples feeder follows fetch's rule.
  const exercises = new Map<string, { userId: string; exerciseId: string; keys: Map<PayloadKind, string> }>();
  let published = 0;
  for await (const key of rawZone.list('raw/')) {
    const parsed = parseRawKey(key);
    if (!parsed) continue;
    if (parsed.area === 'daily') {
      if (!wanted(parsed.payload)) continue;
      const event: FetchedEvent = {
        type: 'fetched', user_id: parsed.userId, exercise_id: parsed.date, date: parsed.date, payload: parsed.payload,
        raw_key: key, bytes: 0, sha256: '', fetched_at_utc: at, utc_offset_min: null, feeds_samples: false,
      };
      await bus.publish(TOPICS.fetched, [{ key: parsed.userId, value: encodeEnvelope(event) }]);
      published++;
      continue;
    }
    if (parsed.area === 'physical') {
      if (!wanted(parsed.payload)) continue;
      const event: FetchedEvent = {
        type: 'fetched', user_id: parsed.userId, exercise_id: parsed.snapshot, payload: 'physical',
        raw_key: key, bytes: 0, sha256: '', fetched_at_utc: at, utc_offset_min: null, feeds_samples: false,
      };
      await bus.publish(TOPICS.fetched, [{ key: parsed.userId, value: encodeEnvelope(event) }]);
      published++;
      continue;
    }
    const id = `${parsed.userId}/${parsed.exerciseId}`;
    const entry = exercises.get(id) ?? { userId: parsed.userId, exerciseId: parsed.exerciseId, keys: new Map<PayloadKind, string>() };
    entry.keys.set(parsed.payload, key);
    exercises.set(id, entry);
  }
  for (const { userId, exerciseId, keys } of exercises.values()) {
    const feeder = SAMPLE_FEED_ORDER.find((p) => keys.has(p));
    const offset = await summaryOffset(rawZone, keys.get('summary'));
    const events: FetchedEvent[] = [...keys]
      .filter(([payload]) => wanted(payload))
      .map(([payload, rawKey]) => ({
        type: 'fetched', user_id: userId, exercise_id: exerciseId, payload, raw_key: rawKey, bytes: 0, sha256: '',
        fetched_at_utc: at, utc_offset_min: offset, feeds_samples: payload === feeder,
      }));
    await bus.publish(TOPICS.fetched, events.map((e) => ({ key: userId, value: encodeEnvelope(e) })));
    crashPoint('replay.publish');
    published += events.length;
  }
  return published;
}

/** The summary's local offset, so file parsers can give local times where a file has none. */
async function summaryOffset(rawZone: RawZone, key: string | undefined): Promise<number | null> {
  if (!key) return null;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of rawZone.open(key)) chunks.push(chunk as Buffer);
    return utcOffsetOf(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
  } catch {
    return null; // a broken summary is dead-lettered by the parse stage; the files still parse
  }
}

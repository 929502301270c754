/**
 * What travels on the bus between stages.
 *
 * `FetchedEvent` (topic polar.fetched): one per payload stored in the raw zone.
 * `RecordBatchEnvelope` (topics polar.samples / polar.laps / polar.exercises / polar.activity /
 *   polar.sleep): a batch of
 *   rows parsed from one raw object. `source_id` + `row_offset` identify the rows
 *   deterministically, so re-parsing the same object yields the same batches and the sink
 *   can name its files from them (replays overwrite, never double).
 * `DeadLetter` (topic polar.deadletter): input that can never be parsed, with the reason.
 *
 * No envelope ever carries a token or any other secret.
 */
import { createHash } from 'node:crypto';
import type { TableName, TableRows } from './rows.ts';

/** Exercise payloads (summary JSON, files) and daily payloads (one JSON per user and local date). */
export type PayloadKind = 'summary' | 'tcx' | 'gpx' | 'fit' | DailyKind;

/** Date-based payloads: daily activity (`/v3/users/activities`) and sleep (`/v3/users/sleep`). */
export type DailyKind = 'activity' | 'sleep';

export const DAILY_KINDS: readonly DailyKind[] = ['activity', 'sleep'];

export function isDailyKind(payload: PayloadKind): payload is DailyKind {
  return payload === 'activity' || payload === 'sleep';
}

export interface FetchedEvent {
  readonly type: 'fetched';
  readonly user_id: string;
  /** The exercise id; for daily payloads the date (`YYYY-MM-DD`), so (user, exercise_id, payload) stays the item's key. */
  readonly exercise_id: string;
  readonly payload: PayloadKind;
  /** Daily payloads only: the user's local date the payload is about (`YYYY-MM-DD`). */
  readonly date?: string;
  /** Key of the object in the raw zone (gzip). */
  readonly raw_key: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly fetched_at_utc: string;
  /** Local offset from the exercise summary, when known, for the file parsers. */
  readonly utc_offset_min: number | null;
  /**
   * Whether this payload feeds the samples and laps tables. An exercise usually has TCX and
   * GPX with the same trackpoints; only one of them may feed `samples`, or every point
   * would be stored twice. Rule: FIT, else TCX, else GPX.
   */
  readonly feeds_samples: boolean;
}

export interface RecordBatchEnvelope<T extends TableName = TableName> {
  readonly type: 'records';
  readonly table: T;
  readonly schema_version: number;
  readonly user_id: string;
  /** Deterministic id of the source raw object (derived from raw_key). */
  readonly source_id: string;
  /** Index of the first row of this batch within everything parsed from the source. */
  readonly row_offset: number;
  /** True on the source's final batch for this table. */
  readonly last: boolean;
  readonly rows: readonly TableRows[T][];
}

export interface DeadLetter {
  readonly type: 'deadletter';
  readonly user_id: string;
  readonly raw_key: string;
  readonly stage: string;
  readonly error: Record<string, unknown>;
  readonly at_utc: string;
}

export type Envelope = FetchedEvent | RecordBatchEnvelope | DeadLetter;

/** Deterministic, path-safe id of a raw object: the sink names its files from it. */
export function sourceIdFor(rawKey: string): string {
  return createHash('sha256').update(rawKey).digest('hex').slice(0, 24);
}

/**
 * Wire form. Record batches travel column-wise (`columns: { name: values[] }`): row objects
 * would repeat every key on every row, and 2048 samples would approach Kafka's default
 * 1 MB message limit. Decoding restores `rows`, so stages only ever see `RecordBatchEnvelope`.
 */
export function encodeEnvelope(envelope: Envelope): Buffer {
  if (envelope.type !== 'records') return Buffer.from(JSON.stringify(envelope));
  const { rows, ...head } = envelope;
  const names = rows.length > 0 ? Object.keys(rows[0] as object) : [];
  const columns: Record<string, unknown[]> = {};
  for (const name of names) columns[name] = rows.map((r) => (r as unknown as Record<string, unknown>)[name] ?? null);
  return Buffer.from(JSON.stringify({ ...head, count: rows.length, columns }));
}

export function decodeEnvelope(value: Buffer): Envelope {
  const parsed = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  if (parsed['type'] !== 'records') return parsed as unknown as Envelope;
  const { columns, count, ...head } = parsed as { columns: Record<string, unknown[]>; count: number };
  const names = Object.keys(columns);
  const rows: Record<string, unknown>[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const row: Record<string, unknown> = {};
    for (const name of names) row[name] = (columns[name] as unknown[])[i];
    rows[i] = row;
  }
  return { ...head, rows } as unknown as Envelope;
}

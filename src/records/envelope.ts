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
import { columnsToRows, decodeRecordBatch, decodeVectors, encodeRecordBatch, isArrowStream, valuesVector, type ColumnVector } from './arrow-codec.ts';
import type { TableName, TableRows } from './rows.ts';

/** Exercise payloads (summary JSON, files) and daily payloads (one JSON per user and local date). */
export type PayloadKind = 'summary' | 'tcx' | 'gpx' | 'fit' | ExerciseDetailKind | DailyKind | ImportedKind | ActivityPartKind | PhysicalKind;

/** Formats only `polar-lake import` brings: Polar HRM, Polar ProTrainer XML, a Polar Flow export training session. */
export type ImportedKind = 'hrm' | 'ppt' | 'flow';

/**
 * The API's own exercise data beside the files: `samples` (every sample series, RR included),
 * `zones` (heart-rate zones) and `route` (route points). The listing channel gets them inline
 * in the summary; the transactional channel stores samples and zones as raw objects of their
 * own (it has no route endpoint).
 */
export type ExerciseDetailKind = 'samples' | 'zones' | 'route';

/**
 * Date-based payloads, one raw object per user, kind and local date: daily activity
 * (`/v3/users/activities`), sleep (`/v3/users/sleep`) and the night, heart and biosensing
 * data of src/daily/endpoints.ts (the registry that says how each is fetched and parsed).
 */
export type DailyKind =
  | 'activity'
  | 'sleep'
  | 'nightly_recharge'
  | 'continuous_heart_rate'
  | 'cardio_load'
  | 'sleepwise_alertness'
  | 'sleepwise_circadian_bedtime'
  | 'body_temperature'
  | 'skin_temperature'
  | 'skin_contacts'
  | 'ecg'
  | 'spo2'
  | 'activity_samples';

/** Every date-based kind, in sweep order: sleep before nightly_recharge (recharge series are anchored on the night's sleep start). */
export const DAILY_KINDS: readonly DailyKind[] = [
  'activity', 'sleep', 'nightly_recharge', 'continuous_heart_rate', 'cardio_load', 'sleepwise_alertness', 'sleepwise_circadian_bedtime',
  'body_temperature', 'skin_temperature', 'skin_contacts', 'ecg', 'spo2', 'activity_samples',
];

export function isDailyKind(payload: PayloadKind): payload is DailyKind {
  return (DAILY_KINDS as readonly string[]).includes(payload);
}

/**
 * Legacy transactional activity sub-resources (`/step-samples`, `/zone-samples`), one raw
 * object per user and device-local date like a daily payload; the transactional summary
 * itself is an `activity` payload. See src/stages/fetch-activity.ts.
 */
export type ActivityPartKind = 'activity_steps' | 'activity_zones';
export const ACTIVITY_PART_KINDS: readonly ActivityPartKind[] = ['activity_steps', 'activity_zones'];

export function isActivityPartKind(payload: PayloadKind): payload is ActivityPartKind {
  return payload === 'activity_steps' || payload === 'activity_zones';
}

/** A physical-information snapshot (transactional item or `GET /v3/users/physical-info`). */
export type PhysicalKind = 'physical';

/** Payloads keyed by (user, local date) in the raw zone. */
export type DatedKind = DailyKind | ActivityPartKind;

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
  /** An abort marker (no rows): the parse of this source failed, the sink discards what it staged of it. */
  readonly aborted?: boolean;
  /**
   * Local epoch days [first, last] any version of this source's rows can fall on (date-based
   * days): once the newest parse is committed, the sink drops the source's rows from the other
   * partitions of that span (src/lake/source-sweep.ts). A `last` batch with no rows says the
   * source has none in this table now.
   */
  readonly source_span?: readonly [number, number];
  readonly rows: readonly TableRows[T][];
}

export interface DeadLetter {
  readonly type: 'deadletter';
  readonly user_id: string;
  readonly raw_key: string;
  readonly stage: string;
  readonly error: Record<string, unknown>;
  readonly at_utc: string;
  /** Parse: rows per table published before the failure and withdrawn (all or nothing per file). */
  readonly discarded_rows?: Readonly<Record<string, number>>;
}

export type Envelope = FetchedEvent | RecordBatchEnvelope | DeadLetter;

/** Deterministic, path-safe id of a raw object: the sink names its files from it. */
export function sourceIdFor(rawKey: string): string {
  return createHash('sha256').update(rawKey).digest('hex').slice(0, 24);
}

/**
 * Wire form. Record batches travel as Arrow IPC streams (./arrow-codec.ts): columnar, typed,
 * nulls in bitmaps, strings dictionary-encoded; row objects would repeat every key on every
 * row. Events and dead letters are small JSON documents. Decoding restores `rows`, so stages
 * only ever see `RecordBatchEnvelope`. Columnar JSON record batches (the format before Arrow)
 * still decode, so topics written by an older version replay.
 */
export function encodeEnvelope(envelope: Envelope): Buffer {
  if (envelope.type !== 'records') return Buffer.from(JSON.stringify(envelope));
  const { rows, ...head } = envelope;
  const bytes = encodeRecordBatch(head, rows);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeEnvelope(value: Buffer): Envelope {
  if (isArrowStream(value)) {
    const { head, rows } = decodeRecordBatch(value);
    return { ...head, rows } as unknown as Envelope;
  }
  const parsed = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  if (parsed['type'] !== 'records' || Array.isArray(parsed['rows'])) return parsed as unknown as Envelope;
  const { columns, count, ...head } = parsed as { columns: Record<string, unknown[]>; count: number };
  return { ...head, rows: columnsToRows(columns, count) } as unknown as Envelope;
}

/** The JSON wire forms of a record batch (legacy columnar, or `rows`) as columns of JS values. */
function decodeJsonRecordColumns(value: Buffer): { head: Record<string, unknown>; count: number; columns: Record<string, unknown[]> } {
  const parsed = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  if (Array.isArray(parsed['rows'])) {
    const { rows, ...head } = parsed as { rows: Record<string, unknown>[] };
    const columns: Record<string, unknown[]> = {};
    for (const name of new Set(rows.flatMap((r) => Object.keys(r)))) columns[name] = rows.map((r) => r[name] ?? null);
    return { head, count: rows.length, columns };
  }
  const { columns, count, ...head } = parsed as { columns?: Record<string, unknown[]>; count?: number };
  return { head, count: Number(count), columns: columns ?? {} };
}

/**
 * A record batch as typed column vectors (what the sink reads): Arrow IPC columns stay typed
 * arrays and dictionary codes, with no JS value per row. The JSON wire forms decode as
 * before and come back as vectors of JS values (the slow path).
 */
export function decodeRecordVectors(value: Buffer): { head: Record<string, unknown>; count: number; columns: Record<string, ColumnVector> } {
  if (isArrowStream(value)) return decodeVectors(value);
  const { head, count, columns } = decodeJsonRecordColumns(value);
  const out: Record<string, ColumnVector> = {};
  for (const [name, values] of Object.entries(columns)) {
    if (!Array.isArray(values)) throw new TypeError(`column ${name} is not an array of values`);
    out[name] = valuesVector(values);
  }
  return { head, count, columns: out };
}

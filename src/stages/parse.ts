/**
 * The parse stage (a transform, in Vector's terms): consumes `polar.fetched`, streams each
 * raw object out of the raw zone through the right parser, and publishes record batches to
 * `polar.exercises`, `polar.samples` and `polar.laps`, and for daily payloads (one JSON per
 * user and local date) one row to `polar.activity` or `polar.sleep`.
 *
 * - Streaming all the way: batches are published as the parser yields them; no file is
 *   ever held whole (FIT excepted, see src/parse/fit.ts).
 * - Deterministic output: the same raw object always yields the same batches (same
 *   `source_id`, `row_offset`, `last`), so re-parsing or replaying overwrites in the lake.
 * - Bad input never stops the flow: a terminal error (malformed file, invalid summary) goes
 *   to `polar.deadletter` with its code and position and the batch is acknowledged; the raw
 *   object stays in the raw zone for a replay after a parser fix. All or nothing per file:
 *   rows already published before the damage are withdrawn by an abort marker on every
 *   record topic (the sink discards the source's staged rows, src/lake/staging.ts); the dead
 *   letter says where the file broke and how many rows were discarded. Transient errors
 *   (bus, disk) throw, so the batch is redelivered.
 */
import type { Readable } from 'node:stream';
import { PolarLakeError, errorMessage } from '../errors.ts';
import { TOPICS, type Bus, type BusMessage, type Subscription } from '../bus/bus.ts';
import {
  decodeEnvelope,
  encodeEnvelope,
  sourceIdFor,
  type DeadLetter,
  isDailyKind,
  type FetchedEvent,
  type RecordBatchEnvelope,
} from '../records/envelope.ts';
import type { TableName, TableRows } from '../records/rows.ts';
import { normaliseExerciseSummary } from '../parse/exercise-summary.ts';
import { normaliseDailyActivity } from '../parse/daily-activity.ts';
import { normaliseSleep } from '../parse/sleep.ts';
import { parseFile, type ParseOptions } from '../parse/index.ts';
import type { Logger } from '../telemetry/log.ts';
import { crashPoint } from '../crash-points.ts';

export const PARSE_GROUP = 'polar-lake-parse';
/** Summary JSON is small (a few KB); anything far larger is not a summary. */
const MAX_SUMMARY_BYTES = 16 * 1024 * 1024;
const SCHEMA_VERSION = 1;

export interface RawReader {
  /** Decompressed payload (summaries). */
  open(key: string): Readable;
  /** The gzip object as stored: the file parsers gunzip it themselves and report gzip damage with its offset. */
  openStored(key: string): Readable;
}

export interface ParseStageDeps {
  readonly bus: Bus;
  readonly rawZone: RawReader;
  readonly logger: Logger;
  readonly options?: ParseOptions;
  /** Consumer group. @default 'polar-lake-parse' */
  readonly group?: string;
}

export interface ParseCounters {
  sources: number;
  rows: Record<TableName, number>;
  deadLettered: number;
}

const TOPIC_OF: Record<TableName, string> = {
  samples: TOPICS.samples,
  laps: TOPICS.laps,
  exercises: TOPICS.exercises,
  daily_activity: TOPICS.activity,
  sleep: TOPICS.sleep,
};

class ParseInputError extends PolarLakeError {
  readonly code = 'PL_PARSE_BAD_EVENT';
  readonly kind = 'terminal';
}

/**
 * The event names a raw object that is not in the raw zone (a topic replayed against another
 * lake, a raw zone restored without it). Retrying cannot help and would block the partition
 * behind it, so it is dead-lettered like bad input.
 */
class RawObjectMissingError extends PolarLakeError {
  readonly code = 'PL_PARSE_RAW_MISSING';
  readonly kind = 'terminal';
  constructor(readonly rawKey: string, options: { cause: unknown }) {
    super(`${rawKey}: not in the raw zone`, options);
  }
}

function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Publishes one source's rows per table, holding back the latest batch so the final one
 * can carry `last: true` without knowing the row count in advance.
 */
class SourcePublisher {
  private readonly pending = new Map<TableName, RecordBatchEnvelope>();
  private readonly offsets = new Map<TableName, number>();

  constructor(
    private readonly bus: Bus,
    private readonly event: FetchedEvent,
    private readonly counters: ParseCounters,
  ) {}

  async add<T extends TableName>(table: T, rows: readonly TableRows[T][]): Promise<void> {
    if (rows.length === 0) return;
    await this.flushPending(table, false);
    const rowOffset = this.offsets.get(table) ?? 0;
    this.offsets.set(table, rowOffset + rows.length);
    this.pending.set(table, {
      type: 'records',
      table,
      schema_version: SCHEMA_VERSION,
      user_id: this.event.user_id,
      source_id: sourceIdFor(this.event.raw_key),
      row_offset: rowOffset,
      last: false,
      rows,
    });
  }

  async finish(): Promise<void> {
    for (const table of [...this.pending.keys()]) await this.flushPending(table, true);
  }

  /**
   * The parse failed part-way: drops the held-back batches and tells the sink, on every record
   * topic (also tables this attempt never reached: an earlier attempt that crashed may have),
   * to discard what this source staged. Nothing of the source becomes visible. Returns the
   * rows dropped per table.
   */
  async abort(): Promise<Partial<Record<TableName, number>>> {
    this.pending.clear();
    const dropped: Partial<Record<TableName, number>> = {};
    for (const [table, rows] of this.offsets) dropped[table] = rows;
    for (const table of Object.keys(TOPIC_OF) as TableName[]) {
      const marker: RecordBatchEnvelope = {
        type: 'records', table, schema_version: SCHEMA_VERSION, user_id: this.event.user_id,
        source_id: sourceIdFor(this.event.raw_key), row_offset: this.offsets.get(table) ?? 0, last: false, aborted: true, rows: [],
      };
      await this.bus.publish(TOPIC_OF[table], [{ key: marker.user_id, value: encodeEnvelope(marker) }]);
    }
    return dropped;
  }

  private async flushPending(table: TableName, last: boolean): Promise<void> {
    const env = this.pending.get(table);
    if (!env) return;
    this.pending.delete(table);
    await this.bus.publish(TOPIC_OF[table], [{ key: env.user_id, value: encodeEnvelope({ ...env, last }) }]);
    crashPoint('parse.publish');
    this.counters.rows[table] += env.rows.length;
  }
}

async function readSmall(stream: Readable, file: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_SUMMARY_BYTES) {
      stream.destroy();
      throw new ParseInputError(`${file}: summary larger than ${MAX_SUMMARY_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function createParseStage(deps: ParseStageDeps) {
  const { bus, rawZone, logger } = deps;
  const counters: ParseCounters = { sources: 0, rows: { samples: 0, laps: 0, exercises: 0, daily_activity: 0, sleep: 0 }, deadLettered: 0 };

  async function deadLetter(event: { user_id: string; raw_key: string }, error: unknown, discardedRows?: Partial<Record<TableName, number>>): Promise<void> {
    const letter: DeadLetter = {
      type: 'deadletter',
      user_id: event.user_id,
      raw_key: event.raw_key,
      stage: 'parse',
      error: error instanceof PolarLakeError ? error.toJSON() : { message: errorMessage(error) },
      at_utc: new Date().toISOString(),
      ...(discardedRows ? { discarded_rows: discardedRows } : {}),
    };
    await bus.publish(TOPICS.deadletter, [{ key: event.user_id || 'unknown', value: encodeEnvelope(letter) }]);
    counters.deadLettered++;
    logger.warn('parse.record.deadlettered', { raw_key: event.raw_key, code: letter.error['code'], error: letter.error['message'] });
  }

  /** Summaries and daily payloads are small JSON documents, read whole (with a size cap). */
  async function readJson(event: FetchedEvent): Promise<unknown> {
    const bytes = await readSmall(rawZone.open(event.raw_key), event.raw_key);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (cause) {
      throw new ParseInputError(`${event.raw_key}: ${event.payload} payload is not JSON: ${errorMessage(cause)}`, { cause });
    }
  }

  async function parseSummary(event: FetchedEvent, out: SourcePublisher): Promise<void> {
    const json = await readJson(event);
    const { row, unknownKeys } = normaliseExerciseSummary(json, { userId: event.user_id, file: event.raw_key });
    if (unknownKeys.length > 0) logger.debug('parse.summary.keys_discarded', { raw_key: event.raw_key, keys: unknownKeys });
    await out.add('exercises', [row]);
  }

  /** One day (activity) or night (sleep): one row, so one batch with `last: true`. */
  async function parseDaily(event: FetchedEvent, out: SourcePublisher): Promise<void> {
    const json = await readJson(event);
    const ctx = { userId: event.user_id, file: event.raw_key, date: event.date ?? null };
    if (event.payload === 'activity') await out.add('daily_activity', [normaliseDailyActivity(json, ctx).row]);
    else await out.add('sleep', [normaliseSleep(json, ctx).row]);
  }

  async function parsePayload(event: FetchedEvent, out: SourcePublisher): Promise<void> {
    const ctx = { userId: event.user_id, exerciseId: event.exercise_id, file: event.raw_key, utcOffsetMin: event.utc_offset_min };
    for await (const output of parseFile(rawZone.openStored(event.raw_key), event.payload as 'tcx' | 'gpx' | 'fit', ctx, deps.options)) {
      if (output.table === 'samples') await out.add('samples', output.rows);
      else if (output.table === 'laps') await out.add('laps', output.rows);
    }
  }

  async function handle(message: BusMessage): Promise<void> {
    let event: FetchedEvent;
    try {
      const decoded = decodeEnvelope(message.value);
      if (decoded.type !== 'fetched') throw new ParseInputError(`unexpected envelope type ${String(decoded.type)} on ${message.topic}`);
      event = decoded;
    } catch (error) {
      await deadLetter({ user_id: message.key, raw_key: `${message.topic}/${message.partition}/${message.offset}` }, error);
      return;
    }
    const daily = isDailyKind(event.payload);
    if (event.payload !== 'summary' && !daily && !event.feeds_samples) return; // kept in the raw zone only
    counters.sources++;
    const out = new SourcePublisher(bus, event, counters);
    try {
      if (event.payload === 'summary') await parseSummary(event, out);
      else if (daily) await parseDaily(event, out);
      else await parsePayload(event, out);
    } catch (caught) {
      const error = isMissingFile(caught) ? new RawObjectMissingError(event.raw_key, { cause: caught }) : caught;
      if (error instanceof PolarLakeError && error.kind === 'transient') throw error; // redelivered; the retry republishes the same batches
      // All or nothing per file: the rows before the damage are discarded with the source.
      const discarded = await out.abort();
      if (!(error instanceof PolarLakeError) || error.kind !== 'terminal') throw error; // bounded redelivery (src/bus/redelivery.ts)
      await deadLetter(event, error, discarded);
      return;
    }
    await out.finish();
  }

  return {
    counters,
    /** Subscribes to polar.fetched; resolves with the subscription. */
    start(): Promise<Subscription> {
      return bus.consume({ topics: [TOPICS.fetched], group: deps.group ?? PARSE_GROUP }, async (batch) => {
        for (const message of batch.messages) await handle(message);
      });
    },
  };
}

export type ParseStage = ReturnType<typeof createParseStage>;

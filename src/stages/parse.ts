/**
 * The parse stage (a transform, in Vector's terms): consumes `polar.fetched`, streams each
 * raw object out of the raw zone through the right parser, and publishes record batches to
 * `polar.exercises`, `polar.samples`, `polar.laps`, `polar.routes` and, once per exercise
 * file, one row to `polar.source_files` (what the file held and the flaws salvaged in it);
 * for daily payloads (one JSON per user and local date) one row to `polar.activity` or
 * `polar.sleep`.
 *
 * - Streaming all the way: batches are published as the parser yields them; no file is
 *   ever held whole (FIT excepted, see src/parse/fit.ts).
 * - Deterministic output: the same raw object always yields the same batches (same
 *   `source_id`, `row_offset`, `last`), so re-parsing or replaying overwrites in the lake.
 * - Bad input never stops the flow: a terminal error (malformed file, invalid summary) goes
 *   to `polar.deadletter` with its code and position and the batch is acknowledged; the raw
 *   object stays in the raw zone for a replay after a parser fix. Rows parsed before the
 *   damage in a truncated file are kept (they are real points; the dead letter says where
 *   the file broke). Transient errors (bus, disk) throw, so the batch is redelivered.
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
  type DailyKind,
  type FetchedEvent,
  type RecordBatchEnvelope,
} from '../records/envelope.ts';
import type { TableName, TableRows } from '../records/rows.ts';
import { normaliseExerciseSummary } from '../parse/exercise-summary.ts';
import { ExerciseDetailError, heartRateZoneRows, routeRows, sampleSeriesRows, type ExerciseDetailContext } from '../parse/exercise-detail.ts';
import { dateBasedEndpoint } from '../daily/endpoints.ts';
import { rawDailyKeyFor, rawKeyFor } from '../lake/raw-zone.ts';
import { TABLE_NAMES } from '../lake/schema.ts';
import { DATE_BASED_TABLES, dateBasedTopic, type DateBasedTableName } from '../records/rows-date-based.ts';
import { parseFile, type ParseOptions } from '../parse/index.ts';
import { sourceFileRow } from '../parse/source-file.ts';
import type { Logger } from '../telemetry/log.ts';

export const PARSE_GROUP = 'polar-lake-parse';
/** Summary JSON is small (a few KB); anything far larger is not a summary. */
const MAX_SUMMARY_BYTES = 16 * 1024 * 1024;
/**
 * Sample series, and listed summaries carrying them and the route inline, grow with the
 * exercise: a 24-hour session's samples and route are some 15 MB of JSON.
 */
const MAX_DETAIL_BYTES = 256 * 1024 * 1024;
const SCHEMA_VERSION = 1;
/** Rows per record batch of a date-based table (a dense continuous heart-rate day can hold tens of thousands). */
const DAILY_BATCH_ROWS = 4096;

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
  exercise_series: TOPICS.exerciseSeries,
  rr_intervals: TOPICS.rrIntervals,
  hr_zones: TOPICS.hrZones,
  routes: TOPICS.routes,
  source_files: TOPICS.source_files,
  ...(Object.fromEntries(DATE_BASED_TABLES.map((t) => [t, dateBasedTopic(t)])) as Record<DateBasedTableName, string>),
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

  private async flushPending(table: TableName, last: boolean): Promise<void> {
    const env = this.pending.get(table);
    if (!env) return;
    this.pending.delete(table);
    await this.bus.publish(TOPIC_OF[table], [{ key: env.user_id, value: encodeEnvelope({ ...env, last }) }]);
    this.counters.rows[table] += env.rows.length;
  }
}

async function readSmall(stream: Readable, file: string, maxBytes = MAX_SUMMARY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      stream.destroy();
      throw new ParseInputError(`${file}: JSON payload larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function createParseStage(deps: ParseStageDeps) {
  const { bus, rawZone, logger } = deps;
  const counters: ParseCounters = { sources: 0, rows: Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as Record<TableName, number>, deadLettered: 0 };
  const detailBatchRows = deps.options?.batchRows ?? 4096;

  async function deadLetter(event: { user_id: string; raw_key: string }, error: unknown): Promise<void> {
    const letter: DeadLetter = {
      type: 'deadletter',
      user_id: event.user_id,
      raw_key: event.raw_key,
      stage: 'parse',
      error: error instanceof PolarLakeError ? error.toJSON() : { message: errorMessage(error) },
      at_utc: new Date().toISOString(),
    };
    await bus.publish(TOPICS.deadletter, [{ key: event.user_id || 'unknown', value: encodeEnvelope(letter) }]);
    counters.deadLettered++;
    logger.warn('parse.record.deadlettered', { raw_key: event.raw_key, code: letter.error['code'], error: letter.error['message'] });
  }

  /** Summaries and daily payloads are small JSON documents, read whole (with a size cap). */
  async function readJson(event: FetchedEvent, maxBytes = MAX_SUMMARY_BYTES): Promise<unknown> {
    const bytes = await readSmall(rawZone.open(event.raw_key), event.raw_key, maxBytes);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (cause) {
      throw new ParseInputError(`${event.raw_key}: ${event.payload} payload is not JSON: ${errorMessage(cause)}`, { cause });
    }
  }

  async function parseSummary(event: FetchedEvent, out: SourcePublisher): Promise<void> {
    const json = await readJson(event, MAX_DETAIL_BYTES);
    const { row, unknownKeys } = normaliseExerciseSummary(json, { userId: event.user_id, file: event.raw_key });
    if (unknownKeys.length > 0) logger.debug('parse.summary.keys_discarded', { raw_key: event.raw_key, keys: unknownKeys });
    await out.add('exercises', [row]);
    // The listing channel's summary carries the series, zones and route inline.
    const o = json as Record<string, unknown>;
    const ctx = { userId: event.user_id, exerciseId: row.exercise_id, file: event.raw_key, startUtcUs: row.start_time_utc_us, utcOffsetMin: row.utc_offset_min };
    await publishDetail(out, ctx, { samples: o['samples'], zones: o['heart_rate_zones'] ?? o['heart-rate-zones'], route: o['route'] });
  }

  /** Series, zones and route rows of one exercise; each part is optional. */
  async function publishDetail(out: SourcePublisher, ctx: ExerciseDetailContext, parts: { samples?: unknown; zones?: unknown; route?: unknown }): Promise<void> {
    let firstError: unknown;
    const part = async (run: () => Promise<void>) => {
      try {
        await run();
      } catch (error) {
        if (!(error instanceof ExerciseDetailError)) throw error;
        firstError ??= error; // the other parts still flow; the error is dead-lettered after them
      }
    };
    if (parts.samples !== undefined) await part(async () => {
      for (const output of sampleSeriesRows(parts.samples, ctx, detailBatchRows)) await out.add(output.table, output.rows);
    });
    if (parts.zones !== undefined) await part(async () => out.add('hr_zones', heartRateZoneRows(parts.zones, ctx)));
    if (parts.route !== undefined) await part(async () => {
      for (const rows of routeRows(parts.route, ctx, detailBatchRows)) await out.add('routes', rows);
    });
    if (firstError !== undefined) throw firstError;
  }

  /**
   * The transactional channel's samples and zones payloads. Their times hang off the
   * exercise's start, which only the summary says: it is read from the raw zone, where the
   * fetch stage stored it before any of the exercise's events were published.
   */
  async function parseDetailPayload(event: FetchedEvent, out: SourcePublisher): Promise<void> {
    const summaryKey = rawKeyFor(event.user_id, event.exercise_id, 'summary');
    let summary: unknown;
    try {
      summary = JSON.parse((await readSmall(rawZone.open(summaryKey), summaryKey, MAX_DETAIL_BYTES)).toString('utf8'));
    } catch (cause) {
      if (isMissingFile(cause)) throw new RawObjectMissingError(summaryKey, { cause });
      throw new ParseInputError(`${summaryKey}: summary of ${event.raw_key} is not JSON: ${errorMessage(cause)}`, { cause });
    }
    const { row } = normaliseExerciseSummary(summary, { userId: event.user_id, file: summaryKey });
    const json = await readJson(event, MAX_DETAIL_BYTES);
    const ctx = { userId: event.user_id, exerciseId: event.exercise_id, file: event.raw_key, startUtcUs: row.start_time_utc_us, utcOffsetMin: row.utc_offset_min };
    await publishDetail(out, ctx, event.payload === 'samples' ? { samples: json } : { zones: json });
  }

  /**
   * One stored day of a date-based type → its tables' rows (src/daily/endpoints.ts). Rows go
   * out in batches of DAILY_BATCH_ROWS per table, each table's last batch with `last: true`.
   */
  async function parseDaily(event: FetchedEvent, out: SourcePublisher): Promise<void> {
    const json = await readJson(event);
    const endpoint = dateBasedEndpoint(event.payload as DailyKind);
    const ctx = { userId: event.user_id, file: event.raw_key, date: event.date ?? null, readDaily: (kind: DailyKind, date: string) => readStoredDay(event.user_id, kind, date) };
    const rows = await endpoint.normalise(json, ctx);
    for (const table of endpoint.tables) {
      const list = (rows[table] ?? []) as TableRows[typeof table][];
      for (let i = 0; i < list.length; i += DAILY_BATCH_ROWS) await out.add(table, list.slice(i, i + DAILY_BATCH_ROWS));
    }
  }

  /** Another stored day of the same user (Nightly Recharge reads its night's sleep); null when absent or unreadable. */
  async function readStoredDay(userId: string, kind: DailyKind, date: string): Promise<unknown | null> {
    try {
      const bytes = await readSmall(rawZone.open(rawDailyKeyFor(userId, kind, date)), kind);
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      return null;
    }
  }

  async function parsePayload(event: FetchedEvent, out: SourcePublisher): Promise<void> {
    const ctx = { userId: event.user_id, exerciseId: event.exercise_id, file: event.raw_key, utcOffsetMin: event.utc_offset_min };
    for await (const output of parseFile(rawZone.openStored(event.raw_key), event.payload as 'tcx' | 'gpx' | 'fit', ctx, deps.options)) {
      if (output.table === 'samples') await out.add('samples', output.rows);
      else if (output.table === 'laps') await out.add('laps', output.rows);
      else if (output.table === 'routes') await out.add('routes', output.rows);
      else await out.add('source_files', [sourceFileRow(output.info)]);
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
    const detail = event.payload === 'samples' || event.payload === 'zones';
    if (event.payload !== 'summary' && !daily && !detail && !event.feeds_samples) return; // kept in the raw zone only
    counters.sources++;
    const out = new SourcePublisher(bus, event, counters);
    try {
      if (event.payload === 'summary') await parseSummary(event, out);
      else if (daily) await parseDaily(event, out);
      else if (detail) await parseDetailPayload(event, out);
      else await parsePayload(event, out);
    } catch (caught) {
      const error = isMissingFile(caught) ? new RawObjectMissingError(event.raw_key, { cause: caught }) : caught;
      if (!(error instanceof PolarLakeError) || error.kind !== 'terminal') throw error; // redelivered
      await out.finish(); // keep the rows before the damage, marked complete for the sink
      await deadLetter(event, error);
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

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
  isActivityPartKind,
  type DailyKind,
  type FetchedEvent,
  type RecordBatchEnvelope,
} from '../records/envelope.ts';
import type { ExerciseRow, TableName, TableRows } from '../records/rows.ts';
import { normaliseExerciseSummary } from '../parse/exercise-summary.ts';
import { ExerciseDetailError, heartRateZoneRows, routeRows, sampleSeriesRows, type ExerciseDetailContext } from '../parse/exercise-detail.ts';
import { normaliseLegacyStepSamples, normaliseLegacyZoneSamples } from '../parse/activity-samples.ts';
import { normalisePhysicalInfo } from '../parse/physical-info.ts';
import { dateBasedEndpoint } from '../daily/endpoints.ts';
import { rawDailyKeyFor, rawKeyFor } from '../lake/raw-zone.ts';
import { TABLE_NAMES } from '../lake/schema.ts';
import { DATE_BASED_TABLES, dateBasedTopic, type DateBasedTableName } from '../records/rows-date-based.ts';
import { isFlowActivityDay, isFlowSleepNight, normaliseFlowActivityDay, normaliseFlowSleepNight } from '../parse/flow-daily.ts';
import { parseFile, type ParseOptions } from '../parse/index.ts';
import { sourceFileRow } from '../parse/source-file.ts';
import type { Logger } from '../telemetry/log.ts';
import { parseImported, readRoute, type ImportFormat } from '../parse/imported.ts';
import { SOURCE_PRECEDENCE, type IdentityRegistry, type Verdict } from '../jobs/exercise-identity.ts';
import { readImportedIdentity } from '../import/job.ts';
import { crashPoint } from '../crash-points.ts';

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
  /**
   * One exercise, once (src/jobs/exercise-identity.ts): summaries register here, a merged
   * member publishes nothing and a winner publishes under its cluster's source ids.
   * Without it every exercise publishes as itself.
   */
  readonly identities?: IdentityRegistry;
}

export interface ParseCounters {
  sources: number;
  rows: Record<TableName, number>;
  deadLettered: number;
  /** Exercise payloads not published: a better source of the same workout is in the lake. */
  merged: number;
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
  activity_step_samples: TOPICS.activitySteps,
  activity_zone_samples: TOPICS.activityZones,
  activity_inactivity_stamps: TOPICS.activityInactivity,
  physical_info: TOPICS.physical,
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
  /** Tables the source feeds that got no row from this parse (see `empty`). */
  private readonly emptied = new Set<TableName>();

  constructor(
    private readonly bus: Bus,
    private readonly event: FetchedEvent,
    private readonly counters: ParseCounters,
    /** A cluster winner's rows go under its first member's source ids (see exercise-identity.ts). */
    private readonly sourceKeyOf: (table: TableName) => string = () => event.raw_key,
    /** Where any version of the source's rows can lie (date-based days), carried by every batch. */
    private readonly span?: readonly [number, number],
  ) {}

  /**
   * The source feeds `table` but has no row for it now: `finish` sends an empty `last` batch,
   * so rows an older version of the source left there are dropped (a re-synced night whose
   * hypnogram became empty).
   */
  empty(table: TableName): void {
    this.emptied.add(table);
  }

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
      source_id: sourceIdFor(this.sourceKeyOf(table)),
      row_offset: rowOffset,
      last: false,
      ...(this.span ? { source_span: this.span } : {}),
      rows,
    });
  }

  async finish(): Promise<void> {
    for (const table of [...this.pending.keys()]) await this.flushPending(table, true);
    for (const table of this.emptied) {
      if (this.offsets.has(table)) continue;
      const marker: RecordBatchEnvelope = {
        type: 'records', table, schema_version: SCHEMA_VERSION, user_id: this.event.user_id, source_id: sourceIdFor(this.sourceKeyOf(table)),
        row_offset: 0, last: true, ...(this.span ? { source_span: this.span } : {}), rows: [],
      };
      await this.bus.publish(TOPIC_OF[table], [{ key: marker.user_id, value: encodeEnvelope(marker) }]);
    }
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
  const counters: ParseCounters = { sources: 0, rows: Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as Record<TableName, number>, deadLettered: 0, merged: 0 };
  const detailBatchRows = deps.options?.batchRows ?? 4096;

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
  async function readJson(event: FetchedEvent, maxBytes = MAX_SUMMARY_BYTES): Promise<unknown> {
    const bytes = await readSmall(rawZone.open(event.raw_key), event.raw_key, maxBytes);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (cause) {
      throw new ParseInputError(`${event.raw_key}: ${event.payload} payload is not JSON: ${errorMessage(cause)}`, { cause });
    }
  }

  /** `adopt` receives the publisher as soon as it exists, so rows already added survive a bad detail part. */
  async function parseSummary(event: FetchedEvent, adopt: (out: SourcePublisher | null) => void): Promise<void> {
    const json = await readJson(event, MAX_DETAIL_BYTES);
    const { row, unknownKeys } = normaliseExerciseSummary(json, { userId: event.user_id, file: event.raw_key });
    if (unknownKeys.length > 0) logger.debug('parse.summary.keys_discarded', { raw_key: event.raw_key, keys: unknownKeys });
    const verdict = await deps.identities?.resolve({
      userId: event.user_id, exerciseId: event.exercise_id, source: 'accesslink', startUtcUs: row.start_time_utc_us, offsetKnown: row.utc_offset_min !== null,
      durationS: row.duration_s, sport: row.sport, rowsKey: event.raw_key, samplesKey: null,
    });
    const out = publisherFor(event, verdict);
    adopt(out);
    if (!out) return;
    await out.add('exercises', [stampSources(row, verdict)]);
    // The listing channel's summary carries the series, zones and route inline.
    const o = json as Record<string, unknown>;
    const ctx = { userId: event.user_id, exerciseId: row.exercise_id, file: event.raw_key, startUtcUs: row.start_time_utc_us, utcOffsetMin: row.utc_offset_min };
    await publishDetail(out, ctx, { samples: o['samples'], zones: o['heart_rate_zones'] ?? o['heart-rate-zones'], route: o['route'] });
  }

  /** Null for a merged member (nothing to publish); else a publisher under the cluster's source ids. */
  function publisherFor(event: FetchedEvent, verdict: Verdict | undefined): SourcePublisher | null {
    if (!verdict) return new SourcePublisher(bus, event, counters);
    if (verdict.role === 'merged') {
      counters.merged++;
      logger.debug('parse.exercise.merged', { raw_key: event.raw_key, winner: verdict.winner.exerciseId, winner_source: verdict.winner.source });
      return null;
    }
    const identities = deps.identities as IdentityRegistry;
    const rows = identities.rowsKeyFor(verdict, 'rows') ?? event.raw_key;
    const samples = identities.rowsKeyFor(verdict, 'samples') ?? event.raw_key;
    return new SourcePublisher(bus, event, counters, (table) => (table === 'exercises' ? rows : samples));
  }

  /** The verdict for a file payload: its exercise's summary (or import) registered it. */
  async function fileVerdict(event: FetchedEvent): Promise<Verdict | undefined> {
    const identities = deps.identities;
    if (!identities) return undefined;
    const known = await identities.get(event.user_id, event.exercise_id);
    if (known || !isImported(event)) return known;
    // A registry rebuilt by a replay: the import left the identity beside the files.
    const member = await readImportedIdentity(rawZone, event.user_id, event.exercise_id);
    return member ? identities.resolve(member) : undefined;
  }

  /** HRM, PPT XML, Flow export, and TCX / GPX / FIT that came by `polar-lake import` (content-addressed `imp-` ids). */
  async function parseImportedPayload(event: FetchedEvent, out: SourcePublisher, verdict: Verdict | undefined): Promise<void> {
    const ctx = { userId: event.user_id, exerciseId: event.exercise_id, file: event.raw_key, utcOffsetMin: event.utc_offset_min };
    let route;
    if (event.payload === 'hrm') {
      const gpxKey = event.raw_key.replace(/\/hrm\.hrm\.gz$/, '/gpx.gpx.gz');
      try {
        route = await readRoute(rawZone.openStored(gpxKey), { ...ctx, file: gpxKey }, deps.options);
      } catch (error) {
        if (!isMissingFile(error)) throw error; // no paired GPX: the HRM alone
      }
    }
    for await (const output of parseImported(event.payload as ImportFormat, rawZone.openStored(event.raw_key), ctx, { ...deps.options, ...(route ? { route } : {}) })) {
      if (output.table === 'exercises') await out.add('exercises', output.rows.map((r) => stampSources(r, verdict, event.payload)));
      else await out.add(output.table, output.rows as never);
    }
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

  /** Legacy activity sub-resources and physical-information snapshots. */
  async function parseActivityPart(event: FetchedEvent, out: SourcePublisher): Promise<void> {
    const json = await readJson(event);
    const ctx = { userId: event.user_id, file: event.raw_key, date: event.date ?? null };
    if (event.payload === 'activity_steps') await out.add('activity_step_samples', normaliseLegacyStepSamples(json, ctx));
    else if (event.payload === 'activity_zones') await out.add('activity_zone_samples', normaliseLegacyZoneSamples(json, ctx));
    else await out.add('physical_info', [normalisePhysicalInfo(json, ctx)]);
  }

  /**
   * One stored day of a date-based type → its tables' rows (src/daily/endpoints.ts). Rows go
   * out in batches of DAILY_BATCH_ROWS per table, each table's last batch with `last: true`.
   */
  async function parseDaily(event: FetchedEvent, out: SourcePublisher): Promise<void> {
    const json = await readJson(event);
    const endpoint = dateBasedEndpoint(event.payload as DailyKind);
    const ctx = { userId: event.user_id, file: event.raw_key, date: event.date ?? null, readDaily: (kind: DailyKind, date: string) => readStoredDay(event.user_id, kind, date) };
    // A day or night from a Polar Flow export (`polar-lake import`) has its own shape.
    const rows = event.payload === 'activity' && isFlowActivityDay(json)
      ? { daily_activity: [normaliseFlowActivityDay(json, ctx)] }
      : event.payload === 'sleep' && isFlowSleepNight(json)
        ? { sleep: [normaliseFlowSleepNight(json, ctx)] }
        : await endpoint.normalise(json, ctx);
    for (const table of endpoint.tables) {
      // Absent: this version says nothing about the table (an activity day without its sample flags); []: it has no row now.
      const list = rows[table] as TableRows[typeof table][] | undefined;
      if (list === undefined) continue;
      if (list.length === 0) out.empty(table);
      for (let i = 0; i < list.length; i += DAILY_BATCH_ROWS) await out.add(table, list.slice(i, i + DAILY_BATCH_ROWS));
    }
  }

  /**
   * The local days a date-based day's rows can fall on, whatever the version: its date ± 2 (a
   * night starts the evening before, a temperature period or alertness period runs into the
   * next day).
   */
  function dailySpan(event: FetchedEvent): readonly [number, number] | undefined {
    const ms = event.date ? Date.parse(`${event.date}T00:00:00Z`) : NaN;
    if (!Number.isFinite(ms)) return undefined;
    const day = Math.floor(ms / 86_400_000);
    return [day - 2, day + 2];
  }

  /** A date-based table fed by two paths goes under one type's day key (src/daily/endpoints.ts `sourceOf`). */
  function dailySourceKeyOf(event: FetchedEvent): ((table: TableName) => string) | undefined {
    const shared = dateBasedEndpoint(event.payload as DailyKind).sourceOf;
    const date = event.date;
    if (!shared || !date) return undefined;
    return (table) => {
      const kind = shared[table];
      return kind ? rawDailyKeyFor(event.user_id, kind, date) : event.raw_key;
    };
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
    await handleEvent(event);
  }

  async function handleEvent(event: FetchedEvent): Promise<void> {
    const daily = isDailyKind(event.payload);
    const detail = event.payload === 'samples' || event.payload === 'zones';
    const part = isActivityPartKind(event.payload) || event.payload === 'physical';
    if (event.payload !== 'summary' && !daily && !detail && !part && !event.feeds_samples) return; // kept in the raw zone only
    counters.sources++;
    let out: SourcePublisher | null = new SourcePublisher(bus, event, counters, daily ? dailySourceKeyOf(event) : undefined, daily ? dailySpan(event) : undefined);
    try {
      if (event.payload === 'summary') await parseSummary(event, (p) => (out = p));
      else if (daily) await parseDaily(event, out);
      else if (detail) await parseDetailPayload(event, out);
      else if (part) await parseActivityPart(event, out);
      else {
        const verdict = await fileVerdict(event);
        out = publisherFor(event, verdict);
        if (out && isImported(event)) await parseImportedPayload(event, out, verdict);
        else if (out) await parsePayload(event, out);
      }
    } catch (caught) {
      const error = isMissingFile(caught) ? new RawObjectMissingError(event.raw_key, { cause: caught }) : caught;
      if (error instanceof PolarLakeError && error.kind === 'transient') throw error; // redelivered; the retry republishes the same batches
      if (error instanceof ExerciseDetailError && out) {
        // Salvage, not rejection: one unreadable part (a series, the zones, the route) of an
        // exercise's detail was skipped and the rest stands; the dead letter names the part.
        await out.finish();
        await deadLetter(event, error);
        return;
      }
      // All or nothing per file: the rows before the damage are discarded with the source.
      const discarded = (await out?.abort()) ?? {};
      if (!(error instanceof PolarLakeError) || error.kind !== 'terminal') throw error; // bounded redelivery (src/bus/redelivery.ts)
      await deadLetter(event, error, discarded);
      return;
    }
    await out?.finish();
  }

  return {
    counters,
    /** Parses one raw object as if its event came off polar.fetched (the replay job's workers call this). */
    parseEvent: handleEvent,
    /** Subscribes to polar.fetched; resolves with the subscription. */
    start(): Promise<Subscription> {
      return bus.consume({ topics: [TOPICS.fetched], group: deps.group ?? PARSE_GROUP }, async (batch) => {
        for (const message of batch.messages) await handle(message);
      });
    },
  };
}

export type ParseStage = ReturnType<typeof createParseStage>;

/**
 * The row names its source, and the other sources of the same workout (best first), so a
 * reader sees what was merged into it. Without a registry the row's own source stands alone.
 */
function stampSources(row: ExerciseRow, verdict: Verdict | undefined, payload?: string): ExerciseRow {
  if (!verdict) return { ...row, source: row.source ?? payload ?? null };
  const others = [...verdict.cluster.members]
    .filter((m) => m !== verdict.member)
    .sort((a, b) => SOURCE_PRECEDENCE.indexOf(a.source) - SOURCE_PRECEDENCE.indexOf(b.source))
    .map((m) => `${m.source}:${m.exerciseId}`);
  return { ...row, source: verdict.member.source, other_sources: others.length > 0 ? others.join(',') : null };
}

/** Payloads only an import brings, or a file an import stored (its exercise id is content-addressed, `imp-...`). */
function isImported(event: FetchedEvent): boolean {
  return event.payload === 'hrm' || event.payload === 'ppt' || event.payload === 'flow' || event.exercise_id.startsWith('imp-');
}

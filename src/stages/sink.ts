/**
 * The sink stage: record topics → partitioned Parquet, exactly once in effect, all or nothing
 * per source.
 *
 * It buffers rows per table (split by partition) and acknowledges a bus batch only once every
 * row it carried is durable: in a committed file (tmp + fsync + rename + manifest commit, see
 * src/lake/partition-writer.ts), or staged for a source whose last batch has not come yet
 * (src/lake/staging.ts: promoted when it comes, discarded on an abort marker). A crash anywhere
 * before the ack redelivers the batch, and the commit recognises what it already holds, so
 * nothing is lost or doubled.
 *
 * Buffers roll on `flush_rows` / `flush_bytes`. Since rows are acknowledged only when
 * durable and a bus hands out the next batch only after the ack (the embedded bus, kafkajs
 * eachBatch per partition), a buffer holding unacknowledged rows is flushed after
 * `max_ack_delay_ms` (coalescing batches that arrive together), and never later than
 * `idle_flush_secs`. Streaming files are therefore often small; `polar-lake compact`
 * merges them.
 */
import { createHash } from 'node:crypto';
import { TOPICS, type Batch, type Bus, type BusMessage, type Subscription } from '../bus/bus.ts';
import { errorMessage, PolarLakeError } from '../errors.ts';
import { takeRows, valueAt, type ColumnVector } from '../records/arrow-codec.ts';
import { decodeRecordVectors, encodeEnvelope, type DeadLetter } from '../records/envelope.ts';
import type { TableName } from '../records/rows.ts';
import { DATE_BASED_TABLES, dateBasedTopic } from '../records/rows-date-based.ts';
import type { Logger } from '../telemetry/log.ts';
import { openLakeDuckDB, type LakeDuckDB } from '../lake/duckdb.ts';
import { commitPartition, sweepPartitions, type PartitionBatch } from '../lake/partition-writer.ts';
import type { BatchEntry } from '../lake/manifest.ts';
import { discardStaging, firstGap, migrateLegacyStaging, promoteSource, readStaging, SinkSourceIncompleteError, stageSource } from '../lake/staging.ts';
import { dropSourcesElsewhere, readSpan, type SourceSpan, type SourceSweep } from '../lake/source-sweep.ts';
import { localDateField, localEpochDay, partitionOfDay } from '../lake/partition.ts';
import { fieldColumns, loadTableSchema, TABLE_NAMES, type ColumnSpec, type TableSchema } from '../lake/schema.ts';
import type { ParquetCompression } from '../lake/parquet-writer.ts';
import { crashPoint } from '../crash-points.ts';

/** Sink knobs; `pipelines/*.yaml` `sink:` maps onto them (snake_case keys). */
export interface SinkOptions {
  /** Roll a partition's buffer into a file at this many rows. @default 1000000 */
  readonly flush_rows?: number;
  /** Roll a partition's buffer at about this many bytes (wire size of the rows). @default 134217728 */
  readonly flush_bytes?: number;
  /** Flush a partition that received nothing for this long. @default 30 */
  readonly idle_flush_secs?: number;
  /** Longest an unacknowledged batch waits for more rows before its partitions are flushed. @default 50 */
  readonly max_ack_delay_ms?: number;
  /** Parquet row group size of streamed files. @default 500000 */
  readonly row_group_rows?: number;
  /** Parquet codec. @default 'zstd' */
  readonly compression?: ParquetCompression;
  /** Size compaction aims for per file (used by `polar-lake compact`, not by streaming). @default 268435456 */
  readonly compact_target_file_bytes?: number;
  /** Consumer group. @default 'polar-lake-sink' */
  readonly group?: string;
  /**
   * Fault injection for tests: runs after a commit and before the acknowledgement. Throwing
   * here is a crash between rename and ack.
   */
  readonly beforeAck?: () => void | Promise<void>;
}

export interface SinkStageDeps {
  readonly bus: Bus;
  readonly lakeRoot: string;
  readonly logger: Logger;
  readonly options?: SinkOptions;
  /** Told of every partition commit (metrics: rows and bytes written per table). */
  readonly onCommitted?: (commit: { readonly table: TableName; readonly rows: number; readonly bytes: number; readonly seconds: number }) => void;
}

export interface SinkStage {
  start(): Promise<Subscription>;
  /** Flushes every buffer now (one-shot runs, shutdown). */
  flush(): Promise<void>;
  /** Stops consuming, flushes, closes DuckDB. */
  close(): Promise<void>;
}

export const SINK_TOPICS: Record<string, TableName> = {
  [TOPICS.samples]: 'samples', [TOPICS.laps]: 'laps', [TOPICS.exercises]: 'exercises', [TOPICS.activity]: 'daily_activity', [TOPICS.sleep]: 'sleep',
  [TOPICS.exerciseSeries]: 'exercise_series', [TOPICS.rrIntervals]: 'rr_intervals', [TOPICS.hrZones]: 'hr_zones', [TOPICS.routes]: 'routes', [TOPICS.source_files]: 'source_files',
  ...Object.fromEntries(DATE_BASED_TABLES.map((t) => [dateBasedTopic(t), t])),
  [TOPICS.activitySteps]: 'activity_step_samples', [TOPICS.activityZones]: 'activity_zone_samples',
  [TOPICS.activityInactivity]: 'activity_inactivity_stamps', [TOPICS.physical]: 'physical_info',
};

/** A row does not match its table schema: it goes to the dead-letter topic, not the lake. */
export class SinkRowInvalidError extends PolarLakeError {
  readonly code = 'PL_SINK_ROW_INVALID';
  readonly kind = 'terminal';
  constructor(
    message: string,
    readonly table: string,
    readonly source_id: string,
    readonly source_row: number,
    readonly column: string,
  ) {
    super(message);
  }
}

/** A message on a record topic that is not a record batch of that topic's table. */
export class SinkMessageInvalidError extends PolarLakeError {
  readonly code = 'PL_SINK_MESSAGE_INVALID';
  readonly kind = 'terminal';
  constructor(
    message: string,
    readonly topic: string,
    readonly offset: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const INT_LIMITS: Partial<Record<ColumnSpec['type'], [number, number]>> = { SMALLINT: [-32768, 32767], INTEGER: [-2147483648, 2147483647] };

/** Why a value does not fit its column, or undefined when it does. */
export function checkValue(spec: ColumnSpec, value: unknown): string | undefined {
  if (value === null || value === undefined) return spec.nullable ? undefined : 'null in a non-nullable column';
  switch (spec.type) {
    case 'VARCHAR':
      return typeof value === 'string' ? undefined : `expected a string, got ${typeof value}`;
    case 'BOOLEAN':
      return typeof value === 'boolean' ? undefined : `expected a boolean, got ${typeof value}`;
    case 'DOUBLE':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `expected a finite number, got ${JSON.stringify(value)}`;
    case 'TIMESTAMPTZ':
    case 'BIGINT':
      return typeof value === 'number' && Number.isSafeInteger(value) ? undefined : `expected integer epoch microseconds, got ${JSON.stringify(value)}`;
    case 'SMALLINT':
    case 'INTEGER': {
      const [lo, hi] = INT_LIMITS[spec.type] as [number, number];
      return typeof value === 'number' && Number.isInteger(value) && value >= lo && value <= hi ? undefined : `expected an ${spec.type}, got ${JSON.stringify(value)}`;
    }
    case 'DATE':
      return 'DATE columns are derived';
  }
}

const isSet = (bits: Uint8Array, i: number): boolean => (bits[i >> 3]! & (1 << (i & 7))) !== 0;

/**
 * Calls `bad(row, why)` for each row whose value does not fit its column. Typed loops where
 * the vector's kind can hold valid values (numbers for number columns, strings for VARCHAR,
 * booleans for BOOLEAN), `checkValue` on each row's JS value otherwise (mixed-type columns
 * arrive as JS values, see src/records/arrow-codec.ts), so the messages are checkValue's.
 */
export function checkColumn(spec: ColumnSpec, v: ColumnVector | undefined, count: number, bad: (row: number, why: string) => void): void {
  const slow = (): void => {
    for (let i = 0; i < count; i++) {
      const why = checkValue(spec, v ? valueAt(v, i) : null);
      if (why) bad(i, why);
    }
  };
  if (v === undefined || v.kind === 'values' || v.kind === 'null') return slow();
  // 0: every value fits; 1: finite; 2: safe integer; 3: integer within INT_LIMITS.
  let test: 0 | 1 | 2 | 3;
  if (v.kind === 'f64') {
    if (spec.type === 'DOUBLE') test = 1;
    else if (spec.type === 'TIMESTAMPTZ' || spec.type === 'BIGINT') test = 2;
    else if (spec.type === 'SMALLINT' || spec.type === 'INTEGER') test = 3;
    else return slow();
  } else if ((v.kind === 'bool' && spec.type === 'BOOLEAN') || (v.kind === 'dict' && spec.type === 'VARCHAR')) test = 0;
  else return slow();
  const validity = v.validity;
  const x = v.kind === 'f64' ? v.values : null;
  const [lo, hi] = INT_LIMITS[spec.type] ?? [0, 0];
  for (let i = 0; i < count; i++) {
    if (validity !== null && !isSet(validity, i)) {
      if (!spec.nullable) bad(i, checkValue(spec, null) as string);
      continue;
    }
    if (x === null) continue;
    const n = x[i] as number;
    const fits = test === 1 ? Number.isFinite(n) : test === 2 ? Number.isSafeInteger(n) : Number.isInteger(n) && n >= lo && n <= hi;
    if (!fits) bad(i, checkValue(spec, n) as string);
  }
}

/** A record batch as it travels: head fields plus typed columns (the wire form of envelope.ts). */
interface ColumnarBatch {
  readonly user_id: string;
  readonly source_id: string;
  readonly row_offset: number;
  readonly last: boolean;
  /** An abort marker: the parser failed part-way, nothing of this parse may become visible. */
  readonly aborted: boolean;
  /** Local days any version of the source's rows can fall on (src/lake/source-sweep.ts); null when not given. */
  readonly span: SourceSpan | null;
  readonly count: number;
  readonly columns: Record<string, ColumnVector | undefined>;
}

/** Reads a record batch as typed columns (decodeRecordVectors: no row objects, no JS value per row), checking its head. */
export function decodeColumnar(value: Buffer, table: TableName): ColumnarBatch {
  const { head, count, columns } = decodeRecordVectors(value);
  if (head['type'] !== 'records') throw new Error(`expected a record batch, got type ${JSON.stringify(head['type'])}`);
  if (head['table'] !== table) throw new Error(`expected table ${table}, got ${JSON.stringify(head['table'])}`);
  if (typeof head['source_id'] !== 'string' || !Number.isInteger(head['row_offset'])) throw new Error('missing source_id or row_offset');
  if (!Number.isInteger(count) || count < 0) throw new Error('missing count');
  return {
    user_id: String(head['user_id']),
    source_id: head['source_id'],
    row_offset: head['row_offset'] as number,
    last: head['last'] === true,
    aborted: head['aborted'] === true,
    span: readSpan(head['source_span']),
    count,
    columns,
  };
}

/** Row i of a numeric vector (null when null), typed access for Float64 vectors. */
function numberReader(v: ColumnVector | undefined): (i: number) => number | null {
  if (v === undefined) return () => null;
  if (v.kind === 'f64') {
    const x = v.values;
    const valid = v.validity;
    return valid === null ? (i) => x[i] as number : (i) => (isSet(valid, i) ? (x[i] as number) : null);
  }
  return (i) => valueAt(v, i) as number | null;
}

function pick(columns: Readonly<Record<string, ColumnVector | undefined>>, indices: Int32Array): Record<string, ColumnVector> {
  const out: Record<string, ColumnVector> = {};
  for (const [name, v] of Object.entries(columns)) if (v) out[name] = takeRows(v, indices);
  return out;
}

/** One batch of a source as the table buffer saw it (also batches with no row, and abort markers). */
interface SourceRef {
  readonly sourceId: string;
  readonly userId: string;
  readonly entry: BatchEntry;
  readonly last: boolean;
  readonly aborted: boolean;
  readonly span: SourceSpan | null;
}

/**
 * What a table holds between flushes. A table is flushed as a whole (all its partitions in one
 * step), so a source's rows in every partition are staged or promoted together.
 */
interface TableBuffer {
  readonly partitions: Map<string, PartitionBatch[]>;
  readonly refs: SourceRef[];
  rows: number;
  bytes: number;
  lastAppendMs: number;
  /** Resolvers of the bus batches waiting on this buffer. */
  readonly waiters: { resolve: () => void; reject: (e: unknown) => void }[];
}

/** A source's batches in one flush, after newer parses superseded older ones. */
interface SourceFlush {
  /** An abort marker or a new parse came: what was staged before goes. */
  discardStaged: boolean;
  refs: SourceRef[];
}

const refKey = (sourceId: string, e: BatchEntry): string => `${sourceId}:${e[0]}:${e[1]}:${e[2]}`;

/**
 * Reads a table buffer's refs in bus order into one SourceFlush per source. An abort drops the
 * refs before it; a batch at or below an offset already seen starts a new parse, which
 * supersedes the earlier batches from that offset on (as `latestParse` does per partition).
 */
function sourceFlushes(refs: readonly SourceRef[]): Map<string, SourceFlush> {
  const out = new Map<string, SourceFlush>();
  for (const ref of refs) {
    let sf = out.get(ref.sourceId);
    if (!sf) out.set(ref.sourceId, (sf = { discardStaged: false, refs: [] }));
    if (ref.aborted) {
      sf.discardStaged = true;
      sf.refs = [];
      continue;
    }
    sf.refs = sf.refs.filter((r) => r.entry[0] < ref.entry[0]);
    sf.refs.push(ref);
  }
  return out;
}

export function createSinkStage(deps: SinkStageDeps): SinkStage {
  const opts = deps.options ?? {};
  const flushRows = opts.flush_rows ?? 1_000_000;
  const flushBytes = opts.flush_bytes ?? 134_217_728;
  const idleMs = (opts.idle_flush_secs ?? 30) * 1000;
  const ackDelayMs = Math.min(opts.max_ack_delay_ms ?? 50, idleMs);
  // Streaming files keep arrival order (each source's rows together, in recording order):
  // sorting in DuckDB costs 20-45 % of the write rate (bench/sink), and compaction sorts what
  // it merges.
  const writeOptions = { rowGroupRows: opts.row_group_rows ?? 500_000, compression: opts.compression ?? 'zstd', sort: false } as const;
  const log = deps.logger.child({ stage: 'sink' });
  const schemas = new Map<TableName, TableSchema>(TABLE_NAMES.map((t) => [t, loadTableSchema(t)]));
  const buffers = new Map<TableName, TableBuffer>();
  let db: LakeDuckDB | undefined;
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let subscription: Subscription | undefined;

  const duck = async () => (db ??= await openLakeDuckDB());

  function schedule(): void {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flushDue();
    }, ackDelayMs);
  }

  /** Serialises flushes: one DuckDB connection, and partition order stays deterministic. */
  function enqueue(tables: readonly TableName[]): Promise<void> {
    // Detach now: rows that arrive while these commit start a new buffer (and a new file).
    const items: [TableName, TableBuffer][] = [];
    for (const table of tables) {
      const buf = buffers.get(table);
      if (!buf) continue;
      buffers.delete(table);
      items.push([table, buf]);
    }
    const run = chain.then(async () => {
      for (const [table, buf] of items) await commitBuffer(table, buf);
    });
    chain = run.catch(() => undefined);
    return run;
  }

  async function commitBuffer(table: TableName, buf: TableBuffer): Promise<void> {
    try {
      await commitTable(table, buf);
      crashPoint('sink.ack');
      if (opts.beforeAck) await opts.beforeAck();
      for (const w of buf.waiters) w.resolve();
    } catch (error) {
      for (const w of buf.waiters) w.reject(error);
    }
  }

  /**
   * All or nothing per source (src/lake/staging.ts): a source whose every batch is in this
   * flush, starting at row 0 and ending with its `last` batch, is committed directly (its rows
   * in each partition in that partition's one manifest commit); any other source is staged,
   * and promoted when its `last` batch comes. An abort marker discards what was staged.
   */
  async function commitTable(table: TableName, buf: TableBuffer): Promise<void> {
    const schema = schemas.get(table) as TableSchema;
    const conn = (await duck()).conn;
    const flushes = sourceFlushes(buf.refs);
    const live = new Set<string>();
    for (const [sourceId, sf] of flushes) for (const r of sf.refs) live.add(refKey(sourceId, r.entry));
    // Per partition: the rows of the surviving refs, each batch once.
    const rowsOf = new Map<string, Map<string, PartitionBatch[]>>(); // source → partition → batches
    for (const [partition, pbs] of buf.partitions) {
      const seen = new Set<string>();
      for (const pb of pbs) {
        const key = refKey(pb.sourceId, [pb.rowOffset, pb.batchRows, pb.hash]);
        if (!live.has(key) || seen.has(key)) continue;
        seen.add(key);
        let bySource = rowsOf.get(pb.sourceId);
        if (!bySource) rowsOf.set(pb.sourceId, (bySource = new Map()));
        let list = bySource.get(partition);
        if (!list) bySource.set(partition, (list = []));
        list.push(pb);
      }
    }
    const direct = new Map<string, PartitionBatch[]>();
    // Sources whose newest parse this flush makes visible, with a span: swept once their partitions are committed.
    const sweeps: SourceSweep[] = [];
    const spanOf = (sf: SourceFlush) => sf.refs.find((r) => r.last)?.span ?? null;
    for (const [sourceId, sf] of flushes) {
      if (sf.discardStaged) {
        const rows = discardStaging(deps.lakeRoot, table, sourceId);
        log.info('sink.source.discarded', { table, source_id: sourceId, staged_rows: rows });
      }
      if (sf.refs.length === 0) continue;
      const complete = sf.refs.some((r) => r.last);
      const byPartition = rowsOf.get(sourceId) ?? new Map<string, PartitionBatch[]>();
      // The whole source in this flush (from row 0 to its last batch): its batches must tile it.
      const whole = complete && sf.refs[0]?.entry[0] === 0;
      const gap = whole ? firstGap(sf.refs.map((r) => r.entry)) : -1;
      const staged = readStaging(deps.lakeRoot, table, sourceId) !== undefined;
      if (gap >= 0 && !staged) {
        // A batch of the source was lost (a message dead-lettered as invalid): none of it lands.
        const error = new SinkSourceIncompleteError(table, sourceId, gap);
        await deadLetter(sf.refs[0]?.userId ?? 'unknown', sourceId, error);
        log.warn('sink.source.incomplete', { table, source_id: sourceId, error: error.message });
        continue;
      }
      if (whole && !staged) {
        for (const [partition, pbs] of byPartition) {
          let list = direct.get(partition);
          if (!list) direct.set(partition, (list = []));
          list.push(...pbs);
        }
        const span = spanOf(sf);
        if (span) sweeps.push({ sourceId, span, written: new Set(byPartition.keys()) });
        continue;
      }
      const record = await stageSource(conn, deps.lakeRoot, schema, sourceId, sf.refs.map((r) => r.entry), byPartition, writeOptions);
      if (!complete) continue;
      try {
        const started = performance.now();
        const rows = await promoteSource(conn, deps.lakeRoot, schema, record, writeOptions);
        log.debug('sink.source.promoted', { table, source_id: sourceId, rows });
        const span = spanOf(sf);
        if (span) sweeps.push({ sourceId, span, written: new Set(Object.keys(record.partitions)) });
        // Staged files were counted neither as rows nor bytes when written: their rows count now.
        deps.onCommitted?.({ table, rows, bytes: 0, seconds: (performance.now() - started) / 1000 });
      } catch (error) {
        if (!(error instanceof SinkSourceIncompleteError)) throw error;
        discardStaging(deps.lakeRoot, table, sourceId);
        await deadLetter(sf.refs[0]?.userId ?? 'unknown', sourceId, error);
        log.warn('sink.source.incomplete', { table, source_id: sourceId, error: error.message });
      }
    }
    for (const [partition, pbs] of [...direct].sort(([a], [b]) => a.localeCompare(b))) {
      const started = performance.now();
      const result = await commitPartition(conn, deps.lakeRoot, schema, partition, pbs, writeOptions);
      log.debug('sink.partition.committed', { table, partition, rows_written: result.written, rows_skipped: result.skipped, file: result.file });
      deps.onCommitted?.({ table, rows: result.written, bytes: result.bytes, seconds: (performance.now() - started) / 1000 });
    }
    // After the newest rows are in: what older versions left in partitions the newest parse no longer writes.
    if (sweeps.length > 0) {
      const removed = await dropSourcesElsewhere(conn, deps.lakeRoot, schema, sweeps, writeOptions);
      if (removed > 0) log.debug('sink.sources.swept', { table, sources: sweeps.length, rows_removed: removed });
    }
  }

  function flushDue(): Promise<void> {
    const now = Date.now();
    const due = [...buffers].filter(([, b]) => b.waiters.length > 0 || now - b.lastAppendMs >= idleMs).map(([k]) => k);
    return enqueue(due);
  }

  async function deadLetter(userId: string, sourceId: string, error: PolarLakeError): Promise<void> {
    const letter: DeadLetter = { type: 'deadletter', user_id: userId, raw_key: `source:${sourceId}`, stage: 'sink', error: error.toJSON(), at_utc: new Date().toISOString() };
    await deps.bus.publish(TOPICS.deadletter, [{ key: userId, value: encodeEnvelope(letter) }]);
  }

  function bufferOf(table: TableName): TableBuffer {
    let buf = buffers.get(table);
    if (!buf) buffers.set(table, (buf = { partitions: new Map(), refs: [], rows: 0, bytes: 0, lastAppendMs: 0, waiters: [] }));
    return buf;
  }

  /** Splits one message's rows by partition, dead-lettering rows that do not fit the schema. */
  async function accept(message: BusMessage, table: TableName): Promise<void> {
    let batch: ColumnarBatch;
    try {
      batch = decodeColumnar(message.value, table);
    } catch (cause) {
      await deadLetter(message.key, 'unknown', new SinkMessageInvalidError(`not a ${table} record batch: ${errorMessage(cause)}`, message.topic, message.offset, { cause }));
      return;
    }
    const hash = createHash('sha1').update(message.value).digest('hex').slice(0, 16);
    if (batch.aborted) {
      const buf = bufferOf(table);
      buf.refs.push({ sourceId: batch.source_id, userId: batch.user_id, entry: [batch.row_offset, 0, 'abort'], last: false, aborted: true, span: null });
      buf.lastAppendMs = Date.now();
      return;
    }
    const schema = schemas.get(table) as TableSchema;
    const { count, columns } = batch;
    // Column-wise validation: one tight loop per column over typed arrays, no row objects.
    const badRows = new Map<number, SinkRowInvalidError>();
    for (const c of fieldColumns(schema)) {
      const v = columns[c.field as string];
      if (v !== undefined && v.length !== count) {
        await deadLetter(batch.user_id, batch.source_id, new SinkMessageInvalidError(`column ${c.field} has ${v.length} values, expected ${count}`, message.topic, message.offset));
        return;
      }
      checkColumn(c, v, count, (i, why) => {
        if (!badRows.has(i)) badRows.set(i, new SinkRowInvalidError(`${table}.${c.name}: ${why}`, table, batch.source_id, batch.row_offset + i, c.name));
      });
    }
    for (const error of [...badRows.values()].slice(0, 100)) await deadLetter(batch.user_id, batch.source_id, error);
    if (badRows.size > 0) log.warn('sink.rows.deadlettered', { table, source_id: batch.source_id, rows: badRows.size, first: badRows.values().next().value?.message });

    // Partition of each row (-1: dead-lettered); most batches fall in one partition.
    const timeAt = numberReader(columns[localDateField(schema)]);
    const offsetAt = numberReader(columns['utc_offset_min']);
    const partitions: string[] = [];
    const partitionRows: number[] = [];
    const byDay = new Map<number, number>();
    const rowPartition = new Int32Array(count);
    let lastDay = NaN;
    let lastPartition = -1;
    for (let i = 0; i < count; i++) {
      if (badRows.size > 0 && badRows.has(i)) {
        rowPartition[i] = -1;
        continue;
      }
      const day = localEpochDay(timeAt(i), offsetAt(i));
      if (day !== lastDay) {
        let p = byDay.get(day);
        if (p === undefined) {
          const name = partitionOfDay(schema, day);
          p = partitions.indexOf(name);
          if (p < 0) p = partitions.push(name) - 1;
          byDay.set(day, p);
        }
        lastDay = day;
        lastPartition = p;
      }
      rowPartition[i] = lastPartition;
      partitionRows[lastPartition] = (partitionRows[lastPartition] ?? 0) + 1;
    }
    const bytesPerRow = message.value.length / Math.max(1, count);
    const buf = bufferOf(table);
    buf.refs.push({ sourceId: batch.source_id, userId: batch.user_id, entry: [batch.row_offset, count, hash], last: batch.last, aborted: false, span: batch.span });
    for (let p = 0; p < partitions.length; p++) {
      const partition = partitions[p] as string;
      const rows = partitionRows[p] as number;
      let pb: PartitionBatch;
      if (rows === count) {
        // The usual case: the whole batch stays in one partition, its vectors as decoded.
        pb = { sourceId: batch.source_id, rowOffset: batch.row_offset, batchRows: count, last: batch.last, hash, count, columns, sourceRows: null };
      } else {
        const indices = new Int32Array(rows);
        for (let i = 0, k = 0; i < count; i++) if (rowPartition[i] === p) indices[k++] = i;
        const sourceRows = indices.map((i) => batch.row_offset + i);
        pb = { sourceId: batch.source_id, rowOffset: batch.row_offset, batchRows: count, last: batch.last, hash, count: rows, columns: pick(columns, indices), sourceRows };
      }
      let list = buf.partitions.get(partition);
      if (!list) buf.partitions.set(partition, (list = []));
      list.push(pb);
      buf.rows += pb.count;
      buf.bytes += pb.count * bytesPerRow;
    }
    buf.lastAppendMs = Date.now();
  }

  async function onBatch(batch: Batch): Promise<void> {
    const table = SINK_TOPICS[batch.topic];
    if (!table) throw new SinkMessageInvalidError(`the sink does not consume ${batch.topic}`, batch.topic, batch.messages[0]?.offset ?? '');
    const waits: Promise<void>[] = [];
    const waitFor = (buf: TableBuffer) => waits.push(new Promise<void>((resolve, reject) => buf.waiters.push({ resolve, reject })));
    let touched = false;
    for (const message of batch.messages) {
      await accept(message, table);
      touched = true;
      // Roll a full buffer right away, even in the middle of a bus batch.
      const buf = buffers.get(table);
      if (buf && (buf.rows >= flushRows || buf.bytes >= flushBytes)) {
        waitFor(buf);
        void enqueue([table]);
        touched = false;
      }
    }
    const buf = buffers.get(table);
    if (touched && buf) waitFor(buf);
    schedule();
    // Resolving acknowledges the batch: only once all its rows are committed or staged.
    await Promise.all(waits);
  }

  return {
    async start() {
      for (const table of TABLE_NAMES) await migrateLegacyStaging(deps.lakeRoot, table);
      const swept = await sweepPartitions(deps.lakeRoot, TABLE_NAMES);
      if (swept > 0) log.info('sink.orphans.removed', { files: swept });
      subscription = await deps.bus.consume({ topics: Object.keys(SINK_TOPICS), group: opts.group ?? 'polar-lake-sink' }, onBatch);
      return subscription;
    },
    async flush() {
      await enqueue([...buffers.keys()]);
    },
    async close() {
      await subscription?.stop();
      if (timer) clearTimeout(timer);
      await enqueue([...buffers.keys()]).catch(() => undefined);
      db?.close();
      db = undefined;
    },
  };
}

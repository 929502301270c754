/**
 * Typed columns (or columns of JS values) → one Parquet file, through DuckDB.
 *
 * Why this path (measured by bench/sink.ts, figures in docs/lake.md): the node-api row
 * appender makes one native call per value and tops out near 0.5 M rows/s. Here the input is
 * already column-wise and typed (the sink decodes bus batches into `ColumnVector`s: Float64
 * values, bitmaps, dictionary codes), and a table function serves DuckDB's COPY chunk by
 * chunk: each column of 2048 rows is `set` into a typed scratch array and copied into the
 * chunk's vector with one memcpy (`copy_data_to_vector`), validity likewise. Strings never
 * cross one by one: each string column is coded into one dictionary per file from the
 * segments' dictionary codes and scanned as an ENUM. Every column is scanned in its Parquet
 * type (int64 µs instants, int16 SMALLINT, local_date as DATE computed here), so the COPY
 * casts nothing; it writes Parquet (zstd, row groups of `rowGroupRows`), sorted by the
 * schema's sort key unless `sort: false`.
 *
 * The file is written as `<path>.tmp`, then fsynced, renamed and the folder fsynced
 * (src/fs/durable.ts): a reader or a crash sees the whole file or none of it.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import duckdb from '@duckdb/node-bindings';
import { BIGINT, BOOLEAN, DATE, DOUBLE, DuckDBTableFunction, ENUM, INTEGER, SMALLINT, TIMESTAMPTZ, type DuckDBConnection, type DuckDBDataChunk, type DuckDBType } from '@duckdb/node-api';
import { errorMessage, PolarLakeError } from '../errors.ts';
import { diskCauseOf, type DiskCauseCode } from './disk-cause.ts';
import { valueAt, type ColumnVector } from '../records/arrow-codec.ts';
import { quoteIdent, quoteLiteral, type ColumnSpec, type TableSchema } from './schema.ts';
import { renameDurable } from '../fs/durable.ts';

export type ParquetCompression = 'zstd' | 'snappy' | 'gzip' | 'uncompressed';

export interface ParquetWriteOptions {
  /** Rows per Parquet row group. @default 500000 */
  readonly rowGroupRows?: number;
  /** @default 'zstd' */
  readonly compression?: ParquetCompression;
  /**
   * Sort the file's rows by the schema's sort key (then source_id, source_row). false keeps
   * arrival order (each source's rows together, in recording order), which costs nothing;
   * the sink writes streaming files that way and compaction sorts what it merges.
   * @default true
   */
  readonly sort?: boolean;
}

/**
 * One column of a segment: a typed vector as the sink decodes it from the bus (the fast path:
 * typed arrays, bitmaps and dictionary codes are copied, no JS value is read per row), or
 * plain JS values (tests, callers holding rows).
 */
export type SegmentColumn = ColumnVector | readonly unknown[];

/** Rows of one source, column-wise, with their lineage. */
export interface RowSegment {
  readonly count: number;
  /** Row field (`time_utc_us`, ...) → one value per row; a missing field is all NULL. */
  readonly columns: Readonly<Record<string, SegmentColumn | undefined>>;
  readonly sourceId: string;
  readonly rowOffset: number;
  /** source_row of each row; null when they are rowOffset, rowOffset + 1, ... */
  readonly sourceRows: ArrayLike<number> | null;
}

/** What one file holds: segments end to end (never copied into one array). */
export interface RowsToWrite {
  readonly segments: readonly RowSegment[];
}

export interface WrittenFile {
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
}

/** DuckDB refused to write a file (disk full, bad path): retrying later may help. */
export class ParquetWriteError extends PolarLakeError {
  readonly code = 'PL_LAKE_WRITE_FAILED';
  readonly kind = 'transient';
  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.errno = diskCauseOf(options?.cause)?.errno;
  }
  /** ENOSPC, EROFS or EACCES when the disk said so (DuckDB gives only the OS's words). */
  readonly errno: DiskCauseCode | undefined;
}

/** PL_LAKE_WRITE_FAILED for `file`, its message `cannot write <what>[: <disk cause>]: <the OS's words>`. */
export function lakeWriteError(what: string, file: string, cause: unknown): ParquetWriteError {
  const disk = diskCauseOf(cause);
  return new ParquetWriteError(`cannot write ${what}${disk ? `: ${disk.what} (${disk.errno})` : ''}: ${errorMessage(cause)}`, file, { cause });
}

const CHUNK_ROWS = 2048;
const VALIDITY_BYTES = CHUNK_ROWS / 8;

/**
 * How a column is scanned: already in its Parquet type, so the COPY casts nothing (casting in
 * DuckDB cost ~40 % of a COPY's time). 'i64' (TIMESTAMPTZ µs, BIGINT) is filled as doubles
 * and converted to int64 in JS; 'i16' (SMALLINT) is filled as int32 and narrowed.
 */
type Stager = 'double' | 'i64' | 'int' | 'i16' | 'bool' | 'code';

interface StagedColumn {
  readonly spec: ColumnSpec;
  readonly stager: Stager;
  readonly stageName: string;
  readonly dict: Map<string, number>;
}

/**
 * Fills `len` values of one column from `values[from...]` into the typed scratch arrays at
 * `dst...`; returns the number of nulls. Ids repeat row after row, so a string equal to the
 * previous one reuses its code without a Map lookup.
 */
function fill(
  col: StagedColumn,
  values: readonly unknown[] | undefined,
  from: number,
  len: number,
  dst: number,
  f64: Float64Array,
  i32: Int32Array,
  u8: Uint8Array,
  validity: Uint8Array,
): number {
  if (!values) return len;
  let nulls = 0;
  let prev: unknown = undefined;
  let prevCode = -1;
  for (let k = 0; k < len; k++) {
    const v = values[from + k];
    const i = dst + k;
    if (v === null || v === undefined) {
      nulls++;
      continue;
    }
    validity[i >> 3]! |= 1 << (i & 7);
    switch (col.stager) {
      case 'double':
      case 'i64':
        f64[i] = v as number;
        break;
      case 'int':
      case 'i16':
        i32[i] = v as number;
        break;
      case 'bool':
        u8[i] = v ? 1 : 0;
        break;
      case 'code': {
        if (v !== prev) {
          let code = col.dict.get(v as string);
          if (code === undefined) col.dict.set(v as string, (code = col.dict.size));
          prev = v;
          prevCode = code;
        }
        i32[i] = prevCode;
        break;
      }
    }
  }
  return nulls;
}

const bitAt = (bits: Uint8Array, i: number): boolean => (bits[i >> 3]! & (1 << (i & 7))) !== 0;

/** Sets bits [at, at + n) of a bitmap. */
function setBits(bits: Uint8Array, at: number, n: number): void {
  const end = at + n;
  let i = at;
  for (; i < end && (i & 7) !== 0; i++) bits[i >> 3]! |= 1 << (i & 7);
  const whole = end & ~7;
  if (i < whole) {
    bits.fill(0xff, i >> 3, whole >> 3);
    i = whole;
  }
  for (; i < end; i++) bits[i >> 3]! |= 1 << (i & 7);
}

/** ORs `n` validity bits of `src` from bit `from` into `dst` at bit `at` (all valid when `src` is null); returns the nulls. */
function copyValidity(src: Uint8Array | null, from: number, n: number, dst: Uint8Array, at: number): number {
  if (src === null) {
    setBits(dst, at, n);
    return 0;
  }
  let nulls = 0;
  for (let k = 0; k < n; k++) {
    if (bitAt(src, from + k)) dst[(at + k) >> 3]! |= 1 << ((at + k) & 7);
    else nulls++;
  }
  return nulls;
}

/**
 * `fill` for one segment column: typed vectors are copied (`set` converts Float64 to Int32
 * natively), JS values go through `fill`. A vector whose kind does not match the column (a
 * string vector in a DOUBLE column: the sink dead-letters every row with a value there, so
 * only nulls are left) is read value by value.
 */
function fillPiece(
  col: StagedColumn,
  column: SegmentColumn | undefined,
  from: number,
  len: number,
  dst: number,
  f64: Float64Array,
  i32: Int32Array,
  u8: Uint8Array,
  validity: Uint8Array,
): number {
  if (column === undefined) return len;
  if (Array.isArray(column)) return fill(col, column, from, len, dst, f64, i32, u8, validity);
  const v = column as ColumnVector;
  switch (v.kind) {
    case 'null':
      return len;
    case 'values':
      return fill(col, v.values, from, len, dst, f64, i32, u8, validity);
    case 'f64':
      if (col.stager !== 'bool' && col.stager !== 'code') {
        const src = v.values.subarray(from, from + len);
        if (col.stager === 'double' || col.stager === 'i64') f64.set(src, dst);
        else i32.set(src, dst);
        return copyValidity(v.validity, from, len, validity, dst);
      }
      break;
    case 'bool':
      if (col.stager === 'bool') {
        for (let k = 0; k < len; k++) u8[dst + k] = bitAt(v.bits, from + k) ? 1 : 0;
        return copyValidity(v.validity, from, len, validity, dst);
      }
      break;
    case 'dict':
      break;
  }
  const values: unknown[] = new Array(len);
  for (let k = 0; k < len; k++) values[k] = valueAt(v, from + k);
  return fill(col, values, 0, len, dst, f64, i32, u8, validity);
}

/**
 * String codes of one segment column into the file's dictionary (`col.dict`) at `dst`.
 * A dictionary vector is remapped word by word (one Map lookup per distinct word it uses,
 * never a string per row); words no row uses never enter the file's ENUM. Returns the nulls.
 */
function codeSegment(col: StagedColumn, column: SegmentColumn | undefined, count: number, dst: number, codes: Int32Array, validity: Uint8Array): number {
  const v = column as ColumnVector | undefined;
  if (v === undefined || Array.isArray(column) || v.kind !== 'dict') {
    return fillPiece(col, column, 0, count, dst, new Float64Array(0), codes, new Uint8Array(0), validity);
  }
  const remap = new Int32Array(v.words.length).fill(-1);
  const code = (c: number): number => {
    let r = remap[c] as number;
    if (r < 0) {
      const word = v.words[c] as string;
      let known = col.dict.get(word);
      if (known === undefined) col.dict.set(word, (known = col.dict.size));
      remap[c] = r = known;
    }
    return r;
  };
  const src = v.codes;
  if (v.validity === null) {
    for (let k = 0; k < count; k++) codes[dst + k] = code(src[k] as number);
    setBits(validity, dst, count);
    return 0;
  }
  let nulls = 0;
  for (let k = 0; k < count; k++) {
    if (bitAt(v.validity, k)) {
      codes[dst + k] = code(src[k] as number);
      validity[(dst + k) >> 3]! |= 1 << ((dst + k) & 7);
    } else nulls++;
  }
  return nulls;
}

function stagerFor(spec: ColumnSpec): Stager {
  switch (spec.type) {
    case 'DOUBLE':
      return 'double';
    case 'TIMESTAMPTZ':
    case 'BIGINT':
      return 'i64';
    case 'SMALLINT':
      return 'i16';
    case 'INTEGER':
      return 'int';
    case 'BOOLEAN':
      return 'bool';
    case 'VARCHAR':
      return 'code';
    case 'DATE':
      throw new TypeError(`column ${spec.name}: DATE columns are derived, not staged`);
  }
}

function stageType(col: StagedColumn): DuckDBType {
  switch (col.stager) {
    case 'double':
      return DOUBLE;
    case 'i64':
      return col.spec.type === 'TIMESTAMPTZ' ? TIMESTAMPTZ : BIGINT;
    case 'int':
      return INTEGER;
    case 'i16':
      return SMALLINT;
    case 'bool':
      return BOOLEAN;
    case 'code':
      return col.dict.size > 0 ? ENUM([...col.dict.keys()]) : INTEGER;
  }
}

/**
 * Doubles holding integers (epoch µs, exact below 2^53) → little-endian int64 as int32
 * pairs, rounded as DuckDB's CAST(DOUBLE AS BIGINT) rounds.
 */
function toInt64(src: Float64Array, n: number, dst: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const x = Math.round(src[i] as number);
    dst[2 * i] = x | 0; // ToInt32: x modulo 2^32, the low word's bits
    dst[2 * i + 1] = Math.floor(x / 4294967296);
  }
}

const US_PER_MIN = 60_000_000;
const US_PER_DAY = 86_400_000_000;

let stageCounter = 0;

/** Row objects → columns, for callers that hold rows (tests, benches). */
export function rowsToColumns(rows: readonly object[], fields: readonly string[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const f of fields) out[f] = rows.map((r) => (r as Record<string, unknown>)[f] ?? null);
  return out;
}

/**
 * Writes `input` as one Parquet file at `path` (atomically: tmp + fsync + rename). The
 * connection must have `TimeZone = 'UTC'` (see `openLakeDuckDB`); it is used alone for the
 * duration of the call.
 */
export async function writeParquet(
  conn: DuckDBConnection,
  schema: TableSchema,
  input: RowsToWrite,
  path: string,
  options: ParquetWriteOptions = {},
  /** Where the file is written before its rename to `path` (same file system). @default `${path}.tmp` */
  tmp = `${path}.tmp`,
): Promise<WrittenFile> {
  const staged: StagedColumn[] = [];
  for (const spec of schema.columns) {
    if (spec.field !== undefined) staged.push({ spec, stager: stagerFor(spec), stageName: spec.field, dict: new Map() });
  }
  const sourceDict = new Map<string, number>();
  const { segments } = input;
  const count = segments.reduce((n, g) => n + g.count, 0);
  const stageId = ++stageCounter;
  try {
    // Strings are coded while the chunks are produced, and the COPY's SELECT needs the code
    // lists: so code every string column first (one pass, cheap), then scan.
    const source = prepareSource(schema, staged, segments, count, sourceDict);
    registerStageFunction(conn);
    STAGE_SOURCES.set(stageId, source);
    const stageTable = `${STAGE_FUNCTION}(${stageId})`;
    const select = schema.columns.map((spec) => `${selectExpr(spec, staged, sourceDict)} AS ${quoteIdent(spec.name)}`);
    // Sort by the staged columns: sorting the decoded strings would compare text, not codes.
    const order = [...schema.sort_by, 'source_id', 'source_row'].map((name) => sortKey(name, schema, staged)).join(', ');
    mkdirSync(dirname(path), { recursive: true });
    mkdirSync(dirname(tmp), { recursive: true });
    await conn.run(
      `COPY (SELECT ${select.join(', ')} FROM ${stageTable}${options.sort === false ? '' : ` ORDER BY ${order}`}) ` +
        `TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION ${options.compression ?? 'zstd'}, ROW_GROUP_SIZE ${options.rowGroupRows ?? 500_000})`,
    );
    await renameDurable(tmp, path, { crashPoint: 'parquet.write', error: (cause) => lakeWriteError(`${schema.name} Parquet file`, path, cause) });
    return { path, rows: count, bytes: statSync(path).size };
  } catch (cause) {
    if (cause instanceof TypeError || cause instanceof ParquetWriteError) throw cause;
    throw lakeWriteError(`${schema.name} Parquet file`, path, cause);
  } finally {
    STAGE_SOURCES.delete(stageId);
  }
}

const STAGE_FUNCTION = 'polar_lake_stage';

/** One file's rows as the stage table function serves them, chunk by chunk. */
interface StageSource {
  readonly staged: readonly StagedColumn[];
  readonly segments: readonly RowSegment[];
  readonly count: number;
  /** Per chunk: the pieces of segments it covers, [segment index, offset in it, length]. */
  readonly chunks: readonly (readonly [number, number, number][])[];
  /** Scan column types: staged columns, then __source and __source_row. */
  readonly types: readonly DuckDBType[];
  /** String columns, coded before the scan: index in staged → ENUM codes. */
  readonly codes: ReadonlyMap<number, { readonly values: EnumCodes; readonly validity: Uint8Array | null }>;
  readonly sourceCodes: EnumCodes;
  readonly sourceRows: Int32Array;
  readonly f64: Float64Array;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  readonly validity: Uint8Array;
  readonly i64: Int32Array;
  readonly i16: Int16Array;
  /**
   * local_date, computed per chunk in JS (the sink's partition rule, localEpochDay, exactly):
   * indices in staged of the instant and the offset column, or null when the table has none.
   */
  readonly localDate: { readonly time: number; readonly offset: number; readonly t: Float64Array; readonly off: Int32Array; readonly tValid: Uint8Array; readonly offValid: Uint8Array; readonly days: Int32Array } | null;
}

const STAGE_SOURCES = new Map<number, StageSource>();

interface ChunkRange {
  next: number;
  readonly end: number;
}
interface ScanState {
  readonly ranges: ChunkRange[];
  threads: number;
}
const STAGE_SCANS = new WeakMap<StageSource, ScanState>();
/** Scanning threads of the stage function; DuckDB uses at most its `threads` setting. */
const SCAN_THREADS = 2;
const REGISTERED = new WeakSet<DuckDBConnection>();

function prepareSource(schema: TableSchema, staged: readonly StagedColumn[], segments: readonly RowSegment[], count: number, sourceDict: Map<string, number>): StageSource {
  const chunks: [number, number, number][][] = [];
  let seg = 0;
  let segAt = 0;
  for (let start = 0; start < count; start += CHUNK_ROWS) {
    const pieces: [number, number, number][] = [];
    for (let left = Math.min(CHUNK_ROWS, count - start); left > 0; ) {
      const g = segments[seg] as RowSegment;
      const len = Math.min(left, g.count - segAt);
      if (len > 0) pieces.push([seg, segAt, len]);
      left -= len;
      segAt += len;
      if (segAt >= g.count) {
        seg++;
        segAt = 0;
      }
    }
    chunks.push(pieces);
  }
  const codes = new Map<number, { values: EnumCodes; validity: Uint8Array | null }>();
  staged.forEach((col, c) => {
    if (col.stager !== 'code') return;
    const values = new Int32Array(count);
    const validity = new Uint8Array(Math.ceil(count / 64) * 8);
    let nulls = 0;
    let dst = 0;
    for (const g of segments) {
      // Chunk-aligned validity: bits are set at dst, which is a global row index here.
      nulls += codeSegment(col, g.columns[col.stageName], g.count, dst, values, validity);
      dst += g.count;
    }
    codes.set(c, { values: narrowCodes(values, col.dict.size), validity: nulls > 0 ? validity : null });
  });
  const sourceCodes = new Int32Array(count);
  const sourceRows = new Int32Array(count);
  let dst = 0;
  for (const g of segments) {
    let code = sourceDict.get(g.sourceId);
    if (code === undefined) sourceDict.set(g.sourceId, (code = sourceDict.size));
    sourceCodes.fill(code, dst, dst + g.count);
    const rows = g.sourceRows;
    if (rows) for (let k = 0; k < g.count; k++) sourceRows[dst + k] = rows[k] as number;
    else for (let k = 0; k < g.count; k++) sourceRows[dst + k] = g.rowOffset + k;
    dst += g.count;
  }
  const derive = schema.columns.find((c) => c.derive?.startsWith('local_date:'))?.derive?.slice('local_date:'.length);
  let localDate: StageSource['localDate'] = null;
  if (derive !== undefined) {
    const time = staged.findIndex((c) => c.spec.name === derive);
    const offset = staged.findIndex((c) => c.spec.name === 'utc_offset_min');
    if (time < 0 || offset < 0) throw new TypeError(`local_date derives from unknown column ${derive}`);
    localDate = {
      time, offset, t: new Float64Array(CHUNK_ROWS), off: new Int32Array(CHUNK_ROWS), tValid: new Uint8Array(VALIDITY_BYTES), offValid: new Uint8Array(VALIDITY_BYTES), days: new Int32Array(CHUNK_ROWS),
    };
  }
  const types = [...staged.map(stageType), sourceDict.size > 0 ? ENUM([...sourceDict.keys()]) : INTEGER, INTEGER, ...(localDate ? [DATE] : [])];
  return {
    staged, segments, count, chunks, types, codes, sourceCodes: narrowCodes(sourceCodes, sourceDict.size), sourceRows,
    f64: new Float64Array(CHUNK_ROWS), i32: new Int32Array(CHUNK_ROWS), u8: new Uint8Array(CHUNK_ROWS), validity: new Uint8Array(VALIDITY_BYTES),
    i64: new Int32Array(2 * CHUNK_ROWS), i16: new Int16Array(CHUNK_ROWS), localDate,
  };
}

/**
 * Registers, once per connection, the table function the COPY scans: DuckDB pulls chunks
 * straight from the JS columns (no staging table, no second copy of the rows inside DuckDB),
 * and with two scanning threads the JS fill of one chunk overlaps DuckDB's encoding of another.
 */
function registerStageFunction(conn: DuckDBConnection): void {
  if (REGISTERED.has(conn)) return;
  const fn = DuckDBTableFunction.create({
    name: STAGE_FUNCTION,
    parameterTypes: [INTEGER],
    bindFunction(info) {
      const id = Number(info.getParameter(0));
      const source = STAGE_SOURCES.get(id);
      if (!source) {
        info.setError(`no staged rows with id ${id}`);
        return;
      }
      const names = [...source.staged.map((col) => col.stageName), '__source', '__source_row', ...(source.localDate ? ['__local_date'] : [])];
      names.forEach((name, c) => info.addResultColumn(name, source.types[c] as DuckDBType));
      info.setBindData({ source });
      info.setCardinality(source.count, true);
    },
    initFunction(info) {
      const { source } = info.getBindData() as { source: StageSource };
      // One contiguous range of chunks per scanning thread: DuckDB's parallel Parquet write
      // builds row groups per thread, so contiguous ranges keep each row group a run of the
      // (clustered) input instead of an interleave of both halves. A thread done with its
      // range helps with the other one.
      const total = source.chunks.length;
      const half = Math.ceil(total / SCAN_THREADS);
      const ranges: ChunkRange[] = [];
      for (let r = 0; r < SCAN_THREADS; r++) ranges.push({ next: Math.min(r * half, total), end: Math.min((r + 1) * half, total) });
      const scan: ScanState = { ranges, threads: 0 };
      STAGE_SCANS.set(source, scan);
      info.setInitData(scan);
      info.setMaxThreads(SCAN_THREADS);
    },
    localInitFunction(info) {
      const { source } = info.getBindData() as { source: StageSource };
      const scan = STAGE_SCANS.get(source) as ScanState;
      info.setInitData({ range: scan.threads++ % scan.ranges.length });
    },
    mainFunction(info, output) {
      const { source } = info.getBindData() as { source: StageSource };
      const scan = info.getInitData() as ScanState;
      const local = info.getLocalInitData() as { range: number };
      let range = scan.ranges[local.range] as ChunkRange;
      if (range.next >= range.end) range = scan.ranges.find((r) => r.next < r.end) ?? range;
      if (range.next >= range.end) {
        output.rowCount = 0;
        return;
      }
      const k = range.next++;
      const pieces = source.chunks[k] as [number, number, number][];
      const start = k * CHUNK_ROWS;
      const n = Math.min(CHUNK_ROWS, source.count - start);
      output.rowCount = n;
      const { f64, i32, u8, validity, staged, segments } = source;
      for (let c = 0; c < staged.length; c++) {
        const col = staged[c] as StagedColumn;
        const coded = source.codes.get(c);
        if (coded) {
          copyTyped(output, c, coded.values, start, n, coded.validity, start);
          continue;
        }
        validity.fill(0);
        let nulls = 0;
        let dst = 0;
        for (const [g, from, len] of pieces) {
          nulls += fillPiece(col, (segments[g] as RowSegment).columns[col.stageName], from, len, dst, f64, i32, u8, validity);
          dst += len;
        }
        const data = col.stager === 'i64' ? (toInt64(f64, n, source.i64), source.i64) : col.stager === 'i16' ? (source.i16.set(i32.subarray(0, n)), source.i16) : col.stager === 'double' ? f64 : col.stager === 'bool' ? u8 : i32;
        copyScratch(output, c, data, n * (col.stager === 'i64' ? 8 : data.BYTES_PER_ELEMENT), n, nulls > 0 ? validity : undefined);
      }
      copyTyped(output, staged.length, source.sourceCodes, start, n, null, 0);
      copyTyped(output, staged.length + 1, source.sourceRows, start, n, null, 0);
      const ld = source.localDate;
      if (ld) {
        // local_date = UTC date of (instant + offset), offset 0 when unknown: localEpochDay.
        const timeCol = staged[ld.time] as StagedColumn;
        const offCol = staged[ld.offset] as StagedColumn;
        ld.tValid.fill(0);
        ld.offValid.fill(0);
        let nulls = 0;
        let dst = 0;
        for (const [g, from, len] of pieces) {
          const columns = (segments[g] as RowSegment).columns;
          nulls += fillPiece(timeCol, columns[timeCol.stageName], from, len, dst, ld.t, i32, u8, ld.tValid);
          fillPiece(offCol, columns[offCol.stageName], from, len, dst, f64, ld.off, u8, ld.offValid);
          dst += len;
        }
        const { t, off, tValid, offValid, days } = ld;
        for (let i = 0; i < n; i++) {
          const offset = bitAt(offValid, i) ? (off[i] as number) : 0;
          days[i] = Math.floor((Math.round(t[i] as number) + offset * US_PER_MIN) / US_PER_DAY);
        }
        copyScratch(output, staged.length + 2, days, n * 4, n, nulls > 0 ? tValid : undefined);
      }
    },
  });
  conn.registerTableFunction(fn);
  REGISTERED.add(conn);
}

/**
 * String codes as the ENUM vector stores them: DuckDB's ENUM is 8-bit under 256 members,
 * 16-bit under 65,536, else 32-bit (the same rule as node-api's ENUM()). An empty dictionary
 * (an all-NULL column) stays INTEGER.
 */
type EnumCodes = Uint8Array | Uint16Array | Uint32Array | Int32Array;

function narrowCodes(codes: Int32Array, members: number): EnumCodes {
  if (members === 0) return codes;
  const out = members < 256 ? new Uint8Array(codes.length) : members < 65_536 ? new Uint16Array(codes.length) : new Uint32Array(codes.length);
  out.set(codes);
  return out;
}

/** Copies rows [start, start + n) of a whole-file typed array into a chunk's vector. */
function copyTyped(chunk: DuckDBDataChunk, index: number, values: EnumCodes | Int32Array, start: number, n: number, validity: Uint8Array | null, bitStart: number): void {
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, index);
  const width = values.BYTES_PER_ELEMENT;
  duckdb.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, values.byteOffset + start * width, n * width);
  if (validity) {
    // Chunks start at multiples of 2048 rows, so their validity starts on a byte (and word) boundary.
    duckdb.vector_ensure_validity_writable(vector);
    duckdb.copy_data_to_vector_validity(vector, 0, validity.buffer as ArrayBuffer, validity.byteOffset + bitStart / 8, Math.ceil(n / 64) * 8);
  }
}

/** Copies `bytes` of a chunk's scratch array (its `n` rows) into its vector, validity likewise. */
function copyScratch(chunk: DuckDBDataChunk, index: number, src: Float64Array | Int32Array | Int16Array | Uint8Array, bytes: number, n: number, validity: Uint8Array | undefined): void {
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, index);
  duckdb.copy_data_to_vector(vector, 0, src.buffer as ArrayBuffer, src.byteOffset, bytes);
  if (validity) {
    duckdb.vector_ensure_validity_writable(vector);
    duckdb.copy_data_to_vector_validity(vector, 0, validity.buffer as ArrayBuffer, validity.byteOffset, Math.ceil(n / 64) * 8);
  }
}

function sortKey(name: string, schema: TableSchema, staged: readonly StagedColumn[]): string {
  if (name === 'source_id') return `${quoteIdent('__source')}`;
  if (name === 'source_row') return `${quoteIdent('__source_row')}`;
  const spec = schema.columns.find((c) => c.name === name);
  const col = staged.find((c) => c.spec === spec);
  if (!col) throw new TypeError(`sort column ${name} is not a staged column`);
  return quoteIdent(col.stageName);
}

function selectExpr(spec: ColumnSpec, staged: readonly StagedColumn[], sourceDict: Map<string, number>): string {
  // Strings are ENUM columns of the scan: DuckDB writes them to Parquet as dictionary-coded
  // strings straight from the codes (no string is built per row); readers see plain strings.
  if (spec.derive === 'source_id') return sourceDict.size === 0 ? 'CAST(NULL AS VARCHAR)' : '"__source"';
  if (spec.derive === 'source_row') return '"__source_row"';
  if (spec.derive?.startsWith('local_date:')) {
    return '"__local_date"';
  }
  const col = staged.find((c) => c.spec === spec);
  if (!col) throw new TypeError(`column ${spec.name} has neither field nor derive`);
  // Every other column is scanned in its Parquet type already.
  const ref = quoteIdent(col.stageName);
  return spec.type === 'VARCHAR' && col.dict.size === 0 ? 'CAST(NULL AS VARCHAR)' : ref;
}

/**
 * Columns of JS values → one Parquet file, through DuckDB.
 *
 * Why this path (measured by bench/sink.ts, figures in docs/lake.md): the node-api row
 * appender makes one native call per value and tops out near 0.5 M rows/s. Here the input is
 * already column-wise (the bus wire form is columnar, so the sink never builds row objects);
 * each column of 2048 rows is filled into a typed array and copied into a DuckDB data chunk
 * with one memcpy (`copy_data_to_vector`), validity likewise, then the chunk is appended to a
 * staging table in one call. Strings never cross one by one: each string column is
 * dictionary-coded in JS (ids, user ids and formats repeat on almost every row) and staged
 * as INTEGER codes, which the COPY decodes with a constant list. Timestamps stage as DOUBLE
 * epoch microseconds (exact below 2^53 µs, year 2255) and become TIMESTAMPTZ (µs) in the
 * COPY, which also computes local_date, sorts by the schema's sort key and writes Parquet
 * (zstd, row groups of `rowGroupRows`).
 *
 * The file is written as `<path>.tmp`, fsynced, then renamed, and the folder fsynced: a
 * reader or a crash sees the whole file or none of it.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import duckdb from '@duckdb/node-bindings';
import { BOOLEAN, DOUBLE, DuckDBDataChunk, INTEGER, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import { PolarLakeError } from '../errors.ts';
import { quoteIdent, quoteLiteral, type ColumnSpec, type TableSchema } from './schema.ts';

export type ParquetCompression = 'zstd' | 'snappy' | 'gzip' | 'uncompressed';

export interface ParquetWriteOptions {
  /** Rows per Parquet row group. @default 500000 */
  readonly rowGroupRows?: number;
  /** @default 'zstd' */
  readonly compression?: ParquetCompression;
  /**
   * Sort the file by the schema's sort key (then source_id, source_row). Streaming files
   * may skip it (compaction sorts what it merges). @default true
   */
  readonly sort?: boolean;
}

/** Rows of one source, column-wise, with their lineage. */
export interface RowSegment {
  readonly count: number;
  /** Row field (`time_utc_us`, ...) → one value per row; a missing field is all NULL. */
  readonly columns: Readonly<Record<string, readonly unknown[] | undefined>>;
  readonly sourceId: string;
  readonly rowOffset: number;
  /** source_row of each row; null when they are rowOffset, rowOffset + 1, ... */
  readonly sourceRows: readonly number[] | null;
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
  }
}

const CHUNK_ROWS = 2048;
const VALIDITY_BYTES = CHUNK_ROWS / 8;

type Stager = 'double' | 'int' | 'bool' | 'code';

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
        f64[i] = v as number;
        break;
      case 'int':
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

function stagerFor(spec: ColumnSpec): Stager {
  switch (spec.type) {
    case 'DOUBLE':
    case 'TIMESTAMPTZ':
    case 'BIGINT':
      return 'double';
    case 'SMALLINT':
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

const STAGE_TYPE: Record<Stager, DuckDBType> = { double: DOUBLE, int: INTEGER, bool: BOOLEAN, code: INTEGER };
const STAGE_SQL: Record<Stager, string> = { double: 'DOUBLE', int: 'INTEGER', bool: 'BOOLEAN', code: 'INTEGER' };

let stageCounter = 0;

/** Fsyncs a file or a folder (a rename is durable only once its folder is synced). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

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
): Promise<WrittenFile> {
  const stageTable = `stage_${schema.name}_${process.pid}_${++stageCounter}`;
  const staged: StagedColumn[] = [];
  for (const spec of schema.columns) {
    if (spec.field !== undefined) staged.push({ spec, stager: stagerFor(spec), stageName: spec.field, dict: new Map() });
  }
  const sourceDict = new Map<string, number>();
  const tmp = `${path}.tmp`;
  try {
    const ddl = [...staged.map((c) => `${quoteIdent(c.stageName)} ${STAGE_SQL[c.stager]}`), '"__source" INTEGER', '"__source_row" INTEGER'];
    await conn.run(`CREATE TEMP TABLE ${stageTable} (${ddl.join(', ')})`);
    const appender = await conn.createAppender(stageTable, 'main', 'temp');
    const types = [...staged.map((c) => STAGE_TYPE[c.stager]), INTEGER, INTEGER];
    const chunk = DuckDBDataChunk.create(types);
    const f64 = new Float64Array(CHUNK_ROWS);
    const i32 = new Int32Array(CHUNK_ROWS);
    const u8 = new Uint8Array(CHUNK_ROWS);
    const validity = new Uint8Array(VALIDITY_BYTES);
    const { segments } = input;
    const count = segments.reduce((n, g) => n + g.count, 0);
    let seg = 0;
    let segAt = 0;
    for (let start = 0; start < count; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, count - start);
      // The pieces of segments this chunk covers: [segment index, offset in it, length].
      const pieces: [number, number, number][] = [];
      for (let left = n; left > 0; ) {
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
      duckdb.data_chunk_reset(chunk.chunk);
      for (let c = 0; c < staged.length; c++) {
        const col = staged[c] as StagedColumn;
        validity.fill(0);
        let nulls = 0;
        let dst = 0;
        for (const [g, from, len] of pieces) {
          nulls += fill(col, (segments[g] as RowSegment).columns[col.stageName], from, len, dst, f64, i32, u8, validity);
          dst += len;
        }
        copyColumn(chunk, c, col.stager, n, f64, i32, u8, nulls > 0 ? validity : undefined);
      }
      let dst = 0;
      for (const [g, , len] of pieces) {
        const id = (segments[g] as RowSegment).sourceId;
        let code = sourceDict.get(id);
        if (code === undefined) sourceDict.set(id, (code = sourceDict.size));
        i32.fill(code, dst, dst + len);
        dst += len;
      }
      copyColumn(chunk, staged.length, 'int', n, f64, i32, u8, undefined);
      dst = 0;
      for (const [g, from, len] of pieces) {
        const segment = segments[g] as RowSegment;
        const rows = segment.sourceRows;
        for (let k = 0; k < len; k++) i32[dst + k] = rows ? (rows[from + k] as number) : segment.rowOffset + from + k;
        dst += len;
      }
      copyColumn(chunk, staged.length + 1, 'int', n, f64, i32, u8, undefined);
      chunk.rowCount = n;
      appender.appendDataChunk(chunk);
    }
    appender.closeSync();

    const select = schema.columns.map((spec) => `${selectExpr(spec, staged, sourceDict)} AS ${quoteIdent(spec.name)}`);
    // Sort by the staged columns: sorting the decoded strings would compare text, not codes.
    const order = [...schema.sort_by, 'source_id', 'source_row'].map((name) => sortKey(name, schema, staged)).join(', ');
    mkdirSync(dirname(path), { recursive: true });
    await conn.run(
      `COPY (SELECT ${select.join(', ')} FROM ${stageTable}${options.sort === false ? '' : ` ORDER BY ${order}`}) ` +
        `TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION ${options.compression ?? 'zstd'}, ROW_GROUP_SIZE ${options.rowGroupRows ?? 500_000})`,
    );
    fsyncPath(tmp);
    renameSync(tmp, path);
    fsyncPath(dirname(path));
    return { path, rows: count, bytes: statSync(path).size };
  } catch (cause) {
    if (cause instanceof TypeError) throw cause;
    throw new ParquetWriteError(`cannot write ${schema.name} Parquet file: ${(cause as Error).message}`, path, { cause });
  } finally {
    await conn.run(`DROP TABLE IF EXISTS temp.${stageTable}`).catch(() => undefined);
  }
}

function copyColumn(
  chunk: DuckDBDataChunk,
  index: number,
  stager: Stager,
  n: number,
  f64: Float64Array,
  i32: Int32Array,
  u8: Uint8Array,
  validity: Uint8Array | undefined,
): void {
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, index);
  const src = stager === 'double' ? f64 : stager === 'bool' ? u8 : i32;
  duckdb.copy_data_to_vector(vector, 0, src.buffer as ArrayBuffer, src.byteOffset, n * src.BYTES_PER_ELEMENT);
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

function dictList(dict: Map<string, number>): string {
  // Map iteration follows insertion order, which is code order.
  return `CAST([${[...dict.keys()].map(quoteLiteral).join(', ')}] AS VARCHAR[])`;
}

function selectExpr(spec: ColumnSpec, staged: readonly StagedColumn[], sourceDict: Map<string, number>): string {
  if (spec.derive === 'source_id') return `list_extract(${dictList(sourceDict)}, "__source" + 1)`;
  if (spec.derive === 'source_row') return '"__source_row"';
  if (spec.derive?.startsWith('local_date:')) {
    const from = spec.derive.slice('local_date:'.length);
    const col = staged.find((c) => c.spec.name === from);
    const offset = staged.find((c) => c.spec.name === 'utc_offset_min');
    if (!col || !offset) throw new TypeError(`local_date derives from unknown column ${from}`);
    return `CAST(make_timestamp(CAST(${quoteIdent(col.stageName)} AS BIGINT)) + to_minutes(coalesce(${quoteIdent(offset.stageName)}, 0)) AS DATE)`;
  }
  const col = staged.find((c) => c.spec === spec);
  if (!col) throw new TypeError(`column ${spec.name} has neither field nor derive`);
  const ref = quoteIdent(col.stageName);
  switch (spec.type) {
    case 'TIMESTAMPTZ':
      return `CAST(make_timestamp(CAST(${ref} AS BIGINT)) AS TIMESTAMPTZ)`;
    case 'BIGINT':
      return `CAST(${ref} AS BIGINT)`;
    case 'SMALLINT':
      return `CAST(${ref} AS SMALLINT)`;
    case 'VARCHAR':
      return col.dict.size === 0 ? 'CAST(NULL AS VARCHAR)' : `list_extract(${dictList(col.dict)}, ${ref} + 1)`;
    default:
      return ref;
  }
}

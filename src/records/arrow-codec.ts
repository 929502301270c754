/**
 * Record batches on the bus as Arrow IPC streams: one RecordBatch per envelope, the envelope
 * head (table, source id, row offset, ...) in the schema metadata.
 *
 * Columns are built straight from typed arrays and validity bitmaps (`makeData`), never
 * through Arrow's per-value builders, which cost more than parsing the file did. Numbers are
 * Float64 (every JS number round-trips exactly, epoch microseconds included), strings are
 * dictionary-encoded (device names and ids repeat on every row), booleans are bit-packed. A
 * column whose values are not all of one JS type is carried as JSON text and restored as it
 * was, so a bad value still reaches the sink's schema check (and its dead letter) unchanged.
 */
import {
  Bool,
  Dictionary,
  Field,
  Float64,
  Int32,
  makeData,
  Null,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  Utf8,
  vectorFromArray,
  DataType,
  type Data,
} from 'apache-arrow';

const HEAD_KEY = 'polar-lake.envelope';
const JSON_COLUMN_KEY = 'polar-lake.json';

type Row = Record<string, unknown>;

function bitmapOf(n: number): Uint8Array {
  return new Uint8Array((n + 7) >> 3);
}

const isSet = (bits: Uint8Array, i: number) => (bits[i >> 3]! & (1 << (i & 7))) !== 0;

function columnKind(rows: readonly Row[], name: string): 'number' | 'string' | 'boolean' | 'null' | 'mixed' {
  let kind: string | null = null;
  for (const row of rows) {
    const v = row[name];
    if (v === null || v === undefined) continue;
    const t = typeof v;
    if (kind === null) kind = t;
    else if (kind !== t) return 'mixed';
  }
  if (kind === null) return 'null';
  return kind === 'number' || kind === 'string' || kind === 'boolean' ? kind : 'mixed';
}

function encodeColumn(rows: readonly Row[], name: string, dictionaryId: number): { field: Field; data: Data } {
  const n = rows.length;
  const kind = columnKind(rows, name);
  if (kind === 'null') {
    const data = makeData({ type: new Null(), length: n });
    return { field: new Field(name, data.type, true), data };
  }
  const validity = bitmapOf(n);
  let nulls = 0;
  if (kind === 'number') {
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = rows[i]![name];
      if (v === null || v === undefined) nulls++;
      else {
        values[i] = v as number;
        validity[i >> 3]! |= 1 << (i & 7);
      }
    }
    const data = makeData({ type: new Float64(), length: n, nullCount: nulls, nullBitmap: validity, data: values });
    return { field: new Field(name, data.type, true), data };
  }
  if (kind === 'boolean') {
    const bits = bitmapOf(n);
    for (let i = 0; i < n; i++) {
      const v = rows[i]![name];
      if (v === null || v === undefined) nulls++;
      else {
        if (v) bits[i >> 3]! |= 1 << (i & 7);
        validity[i >> 3]! |= 1 << (i & 7);
      }
    }
    const data = makeData({ type: new Bool(), length: n, nullCount: nulls, nullBitmap: validity, data: bits });
    return { field: new Field(name, data.type, true), data };
  }
  // Strings (and mixed columns as JSON text), dictionary-encoded.
  const asText = kind === 'mixed' ? (v: unknown) => JSON.stringify(v) : (v: unknown) => v as string;
  const codes = new Int32Array(n);
  const index = new Map<string, number>();
  const words: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = rows[i]![name];
    if (v === null || v === undefined) {
      nulls++;
      continue;
    }
    const text = asText(v);
    let code = index.get(text);
    if (code === undefined) {
      code = words.push(text) - 1;
      index.set(text, code);
    }
    codes[i] = code;
    validity[i >> 3]! |= 1 << (i & 7);
  }
  const type = new Dictionary(new Utf8(), new Int32(), dictionaryId);
  const data = makeData({ type, length: n, nullCount: nulls, nullBitmap: validity, data: codes, dictionary: vectorFromArray(words, new Utf8()) });
  const metadata = kind === 'mixed' ? new Map([[JSON_COLUMN_KEY, '1']]) : undefined;
  return { field: new Field(name, type, true, metadata), data };
}

export function encodeRecordBatch(head: Readonly<Record<string, unknown>>, rows: readonly object[]): Uint8Array {
  const typed = rows as readonly Row[];
  const names = typed.length > 0 ? Object.keys(typed[0]!) : [];
  const columns = names.map((name, i) => encodeColumn(typed, name, i));
  const schema = new Schema(columns.map((c) => c.field), new Map([[HEAD_KEY, JSON.stringify(head)]]));
  const struct = makeData({ type: new Struct(schema.fields), length: typed.length, nullCount: 0, children: columns.map((c) => c.data) });
  return tableToIPC(new Table(schema, [new RecordBatch(schema, struct)]), 'stream');
}

/** True when the bytes are an Arrow IPC stream (it starts with the 0xFFFFFFFF continuation marker). */
export function isArrowStream(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xff && bytes[2] === 0xff && bytes[3] === 0xff;
}

/**
 * One column of a decoded batch, typed: what the sink validates, partitions and writes
 * without building a JS value per row. Bitmaps (validity, booleans) are LSB-first from bit 0
 * (Arrow's and DuckDB's layout); a null `validity` means no nulls. `values` holds plain JS
 * values: columns of the JSON wire forms and mixed-type columns (carried as JSON text).
 */
export type ColumnVector =
  | { readonly kind: 'null'; readonly length: number }
  | { readonly kind: 'f64'; readonly length: number; readonly values: Float64Array; readonly validity: Uint8Array | null }
  | { readonly kind: 'bool'; readonly length: number; readonly bits: Uint8Array; readonly validity: Uint8Array | null }
  | { readonly kind: 'dict'; readonly length: number; readonly words: readonly string[]; readonly codes: Int32Array; readonly validity: Uint8Array | null }
  | { readonly kind: 'values'; readonly length: number; readonly values: readonly unknown[] };

/** Whether row `i` of a vector is non-null. */
export function isValidAt(v: ColumnVector, i: number): boolean {
  switch (v.kind) {
    case 'null':
      return false;
    case 'values': {
      const x = v.values[i];
      return x !== null && x !== undefined;
    }
    default:
      return v.validity === null || isSet(v.validity, i);
  }
}

/** The JS value of row `i` (slow paths only: validation messages, mismatched columns, row objects). */
export function valueAt(v: ColumnVector, i: number): unknown {
  if (!isValidAt(v, i)) return null;
  switch (v.kind) {
    case 'f64':
      return v.values[i];
    case 'bool':
      return isSet(v.bits, i);
    case 'dict':
      return v.words[v.codes[i]!];
    case 'values':
      return v.values[i];
    default:
      return null;
  }
}

/** A vector over plain JS values (JSON wire forms, callers holding rows). */
export function valuesVector(values: readonly unknown[]): ColumnVector {
  return { kind: 'values', length: values.length, values };
}

/** Every value of a vector as a JS array (row objects, the legacy column form). */
export function vectorValues(v: ColumnVector): unknown[] {
  if (v.kind === 'values') return v.values.map((x) => (x === undefined ? null : x));
  const out: unknown[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = valueAt(v, i);
  return out;
}

function takeBits(bits: Uint8Array, indices: Int32Array): Uint8Array {
  const out = bitmapOf(indices.length);
  for (let k = 0; k < indices.length; k++) if (isSet(bits, indices[k]!)) out[k >> 3]! |= 1 << (k & 7);
  return out;
}

/** The rows `indices` of a vector, in that order (typed gathers; a dictionary keeps its words). */
export function takeRows(v: ColumnVector, indices: Int32Array): ColumnVector {
  const n = indices.length;
  switch (v.kind) {
    case 'null':
      return { kind: 'null', length: n };
    case 'values':
      return { kind: 'values', length: n, values: Array.from(indices, (i) => v.values[i]) };
    case 'f64': {
      const values = new Float64Array(n);
      for (let k = 0; k < n; k++) values[k] = v.values[indices[k]!]!;
      return { kind: 'f64', length: n, values, validity: v.validity && takeBits(v.validity, indices) };
    }
    case 'bool':
      return { kind: 'bool', length: n, bits: takeBits(v.bits, indices), validity: v.validity && takeBits(v.validity, indices) };
    case 'dict': {
      const codes = new Int32Array(n);
      for (let k = 0; k < n; k++) codes[k] = v.codes[indices[k]!]!;
      return { kind: 'dict', length: n, words: v.words, codes, validity: v.validity && takeBits(v.validity, indices) };
    }
  }
}

/** `bits` from bit `from` on, `n` bits, re-based to bit 0 (a view when already aligned). */
function bitsFrom(bits: Uint8Array, from: number, n: number): Uint8Array {
  if ((from & 7) === 0) return bits.subarray(from >> 3, (from >> 3) + ((n + 7) >> 3));
  const out = bitmapOf(n);
  for (let i = 0; i < n; i++) if (isSet(bits, from + i)) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

function vectorOf(field: Field, data: Data<DataType>): ColumnVector {
  const n = data.length;
  const at = data.offset;
  // Types read back from IPC are generic (Float with a precision), so test by type id.
  if (DataType.isNull(data.type)) return { kind: 'null', length: n };
  const validity = data.nullCount > 0 && data.nullBitmap ? bitsFrom(data.nullBitmap, at, n) : null;
  if (DataType.isFloat(data.type) && data.values instanceof Float64Array) {
    return { kind: 'f64', length: n, values: data.values.subarray(at, at + n), validity };
  }
  if (DataType.isBool(data.type)) return { kind: 'bool', length: n, bits: bitsFrom(data.values as Uint8Array, at, n), validity };
  if (DataType.isDictionary(data.type) && data.values instanceof Int32Array) {
    const words = (data.dictionary as { toArray(): string[] }).toArray();
    const codes = data.values.subarray(at, at + n);
    if (field.metadata.get(JSON_COLUMN_KEY) !== '1') return { kind: 'dict', length: n, words, codes, validity };
    // A mixed-type column: restore each value as it was (rare: only bad input has one).
    const parsed = words.map((w) => JSON.parse(w) as unknown);
    const values: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) values[i] = validity === null || isSet(validity, i) ? parsed[codes[i]!] : null;
    return { kind: 'values', length: n, values };
  }
  throw new TypeError(`record batch column ${field.name}: unexpected Arrow type ${String(data.type)}`);
}

/**
 * The batch as typed column vectors (what the sink validates and writes from): views of the
 * IPC buffers, no JS value per row, no row objects.
 */
export function decodeVectors(bytes: Uint8Array): { head: Record<string, unknown>; count: number; columns: Record<string, ColumnVector> } {
  const table = tableFromIPC(bytes);
  const head = JSON.parse(table.schema.metadata.get(HEAD_KEY) ?? '{}') as Record<string, unknown>;
  const columns: Record<string, ColumnVector> = {};
  const batches = table.batches;
  if (batches.length === 1) {
    const batch = batches[0]!;
    batch.schema.fields.forEach((field, j) => {
      columns[field.name] = vectorOf(field, batch.getChildAt(j)!.data[0] as Data<DataType>);
    });
  } else {
    // Our encoder writes one RecordBatch per message; anything else is joined as JS values.
    for (const field of table.schema.fields) columns[field.name] = valuesVector([]);
    for (const batch of batches) {
      batch.schema.fields.forEach((field, j) => {
        const part = vectorValues(vectorOf(field, batch.getChildAt(j)!.data[0] as Data<DataType>));
        const prev = columns[field.name] as { readonly values: readonly unknown[] };
        columns[field.name] = valuesVector(prev.values.concat(part));
      });
    }
  }
  return { head, count: table.numRows, columns };
}

/** The batch as columns of JS values, without building row objects. */
function decodeColumns(bytes: Uint8Array): { head: Record<string, unknown>; count: number; columns: Record<string, unknown[]> } {
  const { head, count, columns } = decodeVectors(bytes);
  const out: Record<string, unknown[]> = {};
  for (const [name, v] of Object.entries(columns)) out[name] = vectorValues(v);
  return { head, count, columns: out };
}

export function decodeRecordBatch(bytes: Uint8Array): { head: Record<string, unknown>; rows: Row[] } {
  const { head, count, columns } = decodeColumns(bytes);
  return { head, rows: columnsToRows(columns, count) };
}

export function columnsToRows(columns: Readonly<Record<string, readonly unknown[]>>, count: number): Row[] {
  const names = Object.keys(columns);
  const rows: Row[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const row: Row = {};
    for (const name of names) row[name] = columns[name]![i];
    rows[i] = row;
  }
  return rows;
}

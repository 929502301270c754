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

/** The batch as columns (what the sink writes from), without building row objects. */
export function decodeColumns(bytes: Uint8Array): { head: Record<string, unknown>; count: number; columns: Record<string, unknown[]> } {
  const table = tableFromIPC(bytes);
  const head = JSON.parse(table.schema.metadata.get(HEAD_KEY) ?? '{}') as Record<string, unknown>;
  const columns: Record<string, unknown[]> = {};
  for (const field of table.schema.fields) columns[field.name] = [];
  for (const batch of table.batches) {
    const n = batch.numRows;
    batch.schema.fields.forEach((field, j) => {
      const data = batch.getChildAt(j)!.data[0] as Data<DataType>;
      const out = columns[field.name]!;
      const valid = data.nullCount > 0 ? (data.nullBitmap as Uint8Array) : null;
      const isNull = (i: number) => valid !== null && !isSet(valid, i + data.offset);
      // Types read back from IPC are generic (Float with a precision), so test by type id.
      if (DataType.isNull(data.type)) {
        for (let i = 0; i < n; i++) out.push(null);
      } else if (DataType.isFloat(data.type)) {
        const values = data.values as Float64Array;
        for (let i = 0; i < n; i++) out.push(isNull(i) ? null : values[i + data.offset]);
      } else if (DataType.isBool(data.type)) {
        const bits = data.values as Uint8Array;
        for (let i = 0; i < n; i++) out.push(isNull(i) ? null : isSet(bits, i + data.offset));
      } else if (DataType.isDictionary(data.type)) {
        const codes = data.values as Int32Array;
        const words = (data.dictionary as { toArray(): string[] }).toArray();
        const json = field.metadata.get(JSON_COLUMN_KEY) === '1';
        for (let i = 0; i < n; i++) {
          if (isNull(i)) out.push(null);
          else {
            const word = words[codes[i + data.offset]!]!;
            out.push(json ? JSON.parse(word) : word);
          }
        }
      } else {
        throw new TypeError(`record batch column ${field.name}: unexpected Arrow type ${String(data.type)}`);
      }
    });
  }
  return { head, count: table.numRows, columns };
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

import { describe, expect, it } from 'vitest';
import { decodeVectors, encodeRecordBatch, takeRows, valueAt, vectorValues } from '../../src/records/arrow-codec.ts';
import { decodeRecordVectors } from '../../src/records/envelope.ts';
import { fieldColumns, loadTableSchema, type ColumnSpec } from '../../src/lake/schema.ts';
import { checkColumn, checkValue } from '../../src/stages/sink.ts';

const samples = loadTableSchema('samples');
const spec = (field: string): ColumnSpec => fieldColumns(samples).find((c) => c.field === field) as ColumnSpec;

/** Bad rows of one column as the sink finds them in an Arrow-decoded batch: [row, why]. */
function badRows(rows: Record<string, unknown>[], field: string): [number, string][] {
  const { count, columns } = decodeVectors(encodeRecordBatch({ type: 'records' }, rows));
  const out: [number, string][] = [];
  checkColumn(spec(field), columns[field], count, (i, why) => out.push([i, why]));
  return out;
}

describe('lake > sink > typed column checks', () => {
  it('lake > sink > typed checks > non-finite doubles, fractional or out-of-range SMALLINTs and unsafe instants are caught with checkValue messages', () => {
    const hr = [{ v: 120 }, { v: Number.NaN }, { v: null }, { v: Number.POSITIVE_INFINITY }].map((r) => ({ heart_rate_bpm: r.v }));
    expect(badRows(hr, 'heart_rate_bpm')).toEqual([
      [1, checkValue(spec('heart_rate_bpm'), Number.NaN)],
      [3, checkValue(spec('heart_rate_bpm'), Number.POSITIVE_INFINITY)],
    ]);
    const off = [0, 1.5, 40_000, -3].map((v) => ({ utc_offset_min: v }));
    expect(badRows(off, 'utc_offset_min').map(([i]) => i)).toEqual([1, 2]);
    const t = [1_700_000_000_000_000, 2 ** 60, 0.5].map((v) => ({ time_utc_us: v }));
    expect(badRows(t, 'time_utc_us')).toEqual([
      [1, checkValue(spec('time_utc_us'), 2 ** 60)],
      [2, checkValue(spec('time_utc_us'), 0.5)],
    ]);
  });

  it('lake > sink > typed checks > nulls in non-nullable columns and a missing column are caught', () => {
    expect(badRows([{ time_utc_us: 1 }, { time_utc_us: null }], 'time_utc_us')).toEqual([[1, 'null in a non-nullable column']]);
    expect(badRows([{ user_id: 'a' }, { user_id: null }], 'user_id')).toEqual([[1, 'null in a non-nullable column']]);
    const out: number[] = [];
    checkColumn(spec('user_id'), undefined, 2, (i) => out.push(i));
    expect(out).toEqual([0, 1]);
  });

  it('lake > sink > typed checks > values of the wrong type are caught whatever vector they arrive in', () => {
    // A string column where a number is due, a number column where a string is due, a mixed column (JSON text on the wire).
    expect(badRows([{ heart_rate_bpm: 'high' }, { heart_rate_bpm: null }], 'heart_rate_bpm')).toEqual([[0, 'expected a finite number, got "high"']]);
    expect(badRows([{ user_id: 7 }], 'user_id')).toEqual([[0, 'expected a string, got number']]);
    expect(badRows([{ heart_rate_bpm: 120 }, { heart_rate_bpm: 'high' }, { heart_rate_bpm: true }], 'heart_rate_bpm').map(([i]) => i)).toEqual([1, 2]);
  });

  it('lake > sink > typed checks > gathered rows keep their values, nulls and dictionary words', () => {
    const rows = Array.from({ length: 20 }, (_, i) => ({ a: i % 4 === 0 ? null : i * 1.5, b: i % 3 === 0 ? null : i % 2 === 0, s: i % 5 === 0 ? null : `w${i % 3}`, n: null, m: i % 2 ? i : `x${i}` }));
    const { columns } = decodeVectors(encodeRecordBatch({ type: 'records' }, rows));
    const idx = Int32Array.from([19, 3, 0, 8, 13, 4]);
    for (const [name, v] of Object.entries(columns)) {
      const taken = takeRows(v, idx);
      expect(vectorValues(taken)).toEqual([...idx].map((i) => (rows[i] as Record<string, unknown>)[name]));
      expect(valueAt(taken, 1)).toEqual((rows[3] as Record<string, unknown>)[name]);
    }
  });

  it('lake > sink > typed checks > the JSON wire forms decode to vectors of the same values', () => {
    const legacy = { type: 'records', table: 'laps', source_id: 's', row_offset: 0, count: 2, columns: { lap_index: [0, 1], intensity: ['Active', null] } };
    const { count, columns } = decodeRecordVectors(Buffer.from(JSON.stringify(legacy)));
    expect(count).toBe(2);
    expect(vectorValues(columns['intensity']!)).toEqual(['Active', null]);
    const withRows = { type: 'records', table: 'laps', source_id: 's', row_offset: 0, rows: [{ lap_index: 0 }, { lap_index: 'x' }] };
    expect(vectorValues(decodeRecordVectors(Buffer.from(JSON.stringify(withRows))).columns['lap_index']!)).toEqual([0, 'x']);
    expect(() => decodeRecordVectors(Buffer.from(JSON.stringify({ ...legacy, columns: { lap_index: 5 } })))).toThrow(/not an array/);
  });
});

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLakeDuckDB } from '../../src/lake/duckdb.ts';
import { commitPartition } from '../../src/lake/partition-writer.ts';
import { rowsToColumns } from '../../src/lake/parquet-writer.ts';
import { loadTableSchema } from '../../src/lake/schema.ts';
import { runLakeQuery } from '../../src/lake/query.ts';
import { envelopesFor } from '../helpers/lake-rows.ts';
import type { RecordBatchEnvelope } from '../../src/records/envelope.ts';

describe('query > read-only over the lake', () => {
  let dir: string;
  let lake: string;
  let secret: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-query-ro-'));
    lake = join(dir, 'lake');
    const state = join(dir, 'state');
    mkdirSync(state);
    secret = join(state, 'secret.key');
    writeFileSync(secret, 'c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWstb3V0\n');
    const db = await openLakeDuckDB();
    const envs = envelopesFor({ user_id: 'u1', exercise_id: 'e1', start_ms: Date.UTC(2026, 5, 1, 7), utc_offset_min: 120, samples: 30 }, 30);
    const s = envs.find((e) => e.table === 'samples') as RecordBatchEnvelope<'samples'>;
    await commitPartition(db.conn, lake, loadTableSchema('samples'), 'year=2026/month=06', [
      { sourceId: s.source_id, rowOffset: 0, batchRows: s.rows.length, last: true, hash: 'h', count: s.rows.length, columns: rowsToColumns(s.rows, Object.keys(s.rows[0] as object)), sourceRows: null },
    ], { rowGroupRows: 1024 });
    db.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const refused = (sql: string) => expect(runLakeQuery({ lakeRoot: lake, sql })).rejects.toMatchObject({ code: 'PL_QUERY_REFUSED' });

  it('query > answers a SELECT over the views', async () => {
    expect(await runLakeQuery({ lakeRoot: lake, sql: 'select count(*) as n from samples', format: 'csv' })).toBe('n\n30\n');
  });

  it('query > refuses COPY to a file outside the lake, and writes nothing', async () => {
    const target = join(dir, 'anywhere.csv');
    await refused(`COPY (select * from samples) TO '${target}'`);
    expect(existsSync(target)).toBe(false);
  });

  it('query > refuses ATTACH, INSTALL, LOAD, SET, CREATE and several statements', async () => {
    await refused(`ATTACH '${join(dir, 'x.duckdb')}' AS x`);
    await refused('INSTALL httpfs');
    await refused('LOAD httpfs');
    await refused('SET enable_external_access = true');
    await refused('CREATE TABLE t AS SELECT 1');
    await refused('select 1; select 2');
  });

  it('query > cannot read the secret key outside the lake (read_text)', async () => {
    await expect(runLakeQuery({ lakeRoot: lake, sql: `select content from read_text('${secret}')` })).rejects.toMatchObject({
      code: 'PL_QUERY_FAILED',
      message: expect.stringMatching(/Permission|disabled/i),
    });
    await expect(runLakeQuery({ lakeRoot: lake, sql: `select * from read_text('${lake}/../state/secret.key')` })).rejects.toMatchObject({ code: 'PL_QUERY_FAILED' });
  });

  it('query > writes --format parquet only to the file asked for', async () => {
    const out = join(dir, 'out.parquet');
    await runLakeQuery({ lakeRoot: lake, sql: 'select user_id, count(*) n from samples group by all', format: 'parquet', output: out });
    expect(existsSync(out)).toBe(true);
  });

  it('query > prints INTERVAL, STRUCT, MAP, LIST, DECIMAL and HUGEINT as DuckDB spells them in table, CSV and JSON', async () => {
    const sql = "select interval 1 day as i, {'a': 1, 'b': [1, 2]} as s, map {'k': 2} as m, [1, 2] as l, 1.50::decimal(10,2) as d, 12345678901234567890::hugeint as h";
    const table = await runLakeQuery({ lakeRoot: lake, sql, format: 'table' });
    expect(table).not.toContain('[object Object]');
    expect(table).toContain('1 day');
    expect(table).toContain("{'a': 1, 'b': [1, 2]}");
    expect(table).toContain("{'k': 2}");
    expect(table).toContain('12345678901234567890');
    const csv = await runLakeQuery({ lakeRoot: lake, sql, format: 'csv' });
    expect(csv.split('\n')[1]).toBe(`1 day,"{'a': 1, 'b': [1, 2]}",{'k': 2},"[1, 2]",1.50,12345678901234567890`);
    const json = JSON.parse(await runLakeQuery({ lakeRoot: lake, sql, format: 'json' }));
    expect(json).toMatchObject({ s: { a: 1, b: [1, 2] }, m: [{ key: 'k', value: 2 }], l: [1, 2], d: '1.50', h: '12345678901234567890' });
    expect(json.i).toMatchObject({ days: 1 });
  });

  it('query > a folder that is not a lake is an error, not 0 rows', async () => {
    const empty = join(dir, 'typo');
    mkdirSync(empty);
    await expect(runLakeQuery({ lakeRoot: empty, sql: 'select 1' })).rejects.toMatchObject({ code: 'PL_LAKE_NOT_FOUND' });
    await expect(runLakeQuery({ lakeRoot: join(dir, 'missing'), sql: 'select 1' })).rejects.toMatchObject({ code: 'PL_LAKE_NOT_FOUND' });
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { TOPICS } from '../../src/bus/bus.ts';
import { rawDailyKeyFor } from '../../src/lake/raw-zone.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { normaliseDailyActivity } from '../../src/parse/daily-activity.ts';
import { normaliseSleep } from '../../src/parse/sleep.ts';
import { encodeEnvelope, sourceIdFor, type RecordBatchEnvelope } from '../../src/records/envelope.ts';
import type { TableName } from '../../src/records/rows.ts';
import { createSinkStage } from '../../src/stages/sink.ts';
import { silentLogger } from '../../src/telemetry/log.ts';

let dir: string;
let lake: string;
let bus: EmbeddedBus;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'polar-lake-daily-sink-'));
  lake = join(dir, 'lake');
  bus = new EmbeddedBus({ retryBackoffMs: 5, maxRetryBackoffMs: 20 });
});
afterEach(async () => {
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One day as the parse stage publishes it: source_id from the day's raw key, one row, last. */
function dayBatch(userId: string, date: string, steps: number): RecordBatchEnvelope<'daily_activity'> {
  const file = rawDailyKeyFor(userId, 'activity', date);
  const { row } = normaliseDailyActivity({ start_time: `${date}T00:00`, end_time: `${date}T23:59:59`, steps, calories: 2000 + steps / 10 }, { userId, file });
  return { type: 'records', table: 'daily_activity', schema_version: 1, user_id: userId, source_id: sourceIdFor(file), row_offset: 0, last: true, rows: [row] };
}

function nightBatch(userId: string, date: string, start: string, end: string, rating: number): RecordBatchEnvelope<'sleep'> {
  const file = rawDailyKeyFor(userId, 'sleep', date);
  const { row } = normaliseSleep({ date, sleep_start_time: start, sleep_end_time: end, sleep_rating: rating }, { userId, file });
  return { type: 'records', table: 'sleep', schema_version: 1, user_id: userId, source_id: sourceIdFor(file), row_offset: 0, last: true, rows: [row] };
}

async function publish(...batches: RecordBatchEnvelope[]): Promise<void> {
  for (const b of batches) await bus.publish(b.table === 'sleep' ? TOPICS.sleep : TOPICS.activity, [{ key: b.user_id, value: encodeEnvelope(b) }]);
}

async function runSink(): Promise<void> {
  const sink = createSinkStage({ bus, lakeRoot: lake, logger: silentLogger, options: { max_ack_delay_ms: 1 } });
  const sub = await sink.start();
  await sub.drained();
  await sink.close();
}

async function rows(table: TableName, cols: string): Promise<Record<string, unknown>[]> {
  const db = await openLakeViews(lake);
  try {
    const r = (await db.conn.runAndReadAll(`SELECT user_id, local_date::VARCHAR AS local_date, year, ${cols} FROM ${table} ORDER BY user_id, local_date`)).getRowObjectsJS();
    return r.map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  } finally {
    db.close();
  }
}

describe('lake > daily tables', () => {
  it('lake > daily > a re-synced day (same raw key, new content) replaces its row; other days stay', async () => {
    await publish(dayBatch('7', '2026-12-31', 5000), dayBatch('7', '2027-01-01', 800), dayBatch('8', '2026-12-31', 4000));
    await runSink();
    expect(await rows('daily_activity', 'steps')).toEqual([
      { user_id: '7', local_date: '2026-12-31', year: 2026, steps: 5000 },
      { user_id: '7', local_date: '2027-01-01', year: 2027, steps: 800 },
      { user_id: '8', local_date: '2026-12-31', year: 2026, steps: 4000 },
    ]);
    await publish(dayBatch('7', '2027-01-01', 9100));
    await runSink();
    expect(await rows('daily_activity', 'steps')).toEqual([
      { user_id: '7', local_date: '2026-12-31', year: 2026, steps: 5000 },
      { user_id: '7', local_date: '2027-01-01', year: 2027, steps: 9100 },
      { user_id: '8', local_date: '2026-12-31', year: 2026, steps: 4000 },
    ]);
    // A replay of the same batch again changes nothing.
    await publish(dayBatch('7', '2027-01-01', 9100));
    await runSink();
    expect(await rows('daily_activity', 'count(*) OVER () AS n')).toHaveLength(3);
  });

  it('lake > daily > sleep lands on its result date and year east and west of UTC, across new year', async () => {
    await publish(
      nightBatch('7', '2027-01-01', '2026-12-31T23:30:00+13:00', '2027-01-01T07:00:00+13:00', 3), // all of it on 31 Dec UTC
      nightBatch('8', '2027-01-01', '2026-12-31T22:45:00-10:00', '2027-01-01T06:10:00-10:00', 4), // all of it on 1 Jan UTC
    );
    await runSink();
    expect(await rows('sleep', `utc_offset_min, strftime(sleep_start_utc, '%Y-%m-%d %H:%M') AS start_utc, sleep_rating`)).toEqual([
      { user_id: '7', local_date: '2027-01-01', year: 2027, utc_offset_min: 780, start_utc: '2026-12-31 10:30', sleep_rating: 3 },
      { user_id: '8', local_date: '2027-01-01', year: 2027, utc_offset_min: -600, start_utc: '2027-01-01 08:45', sleep_rating: 4 },
    ]);
    await publish(nightBatch('7', '2027-01-01', '2026-12-31T23:30:00+13:00', '2027-01-01T07:00:00+13:00', 5));
    await runSink();
    expect((await rows('sleep', 'sleep_rating')).map((r) => r['sleep_rating'])).toEqual([5, 4]);
  });

  // A day's old and new batch in ONE commit (a topic replay from offset 0, or two sweeps before
  // a flush): the later batch on the bus supersedes the earlier one (latestParse in
  // src/lake/partition-writer.ts).
  it('lake > daily > old and new version of a day in one commit keep only the latest', async () => {
    await publish(dayBatch('7', '2026-06-01', 1000), dayBatch('7', '2026-06-01', 2000));
    await runSink();
    expect(await rows('daily_activity', 'steps')).toEqual([{ user_id: '7', local_date: '2026-06-01', year: 2026, steps: 2000 }]);
  });

  it('lake > daily > replaying old and new in one commit after the new one is stored keeps the new one', async () => {
    await publish(dayBatch('7', '2026-06-02', 2000));
    await runSink();
    await publish(dayBatch('7', '2026-06-02', 1000), dayBatch('7', '2026-06-02', 2000));
    await runSink();
    expect(await rows('daily_activity', 'steps')).toEqual([{ user_id: '7', local_date: '2026-06-02', year: 2026, steps: 2000 }]);
  });
});

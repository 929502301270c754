/** Parse and sink what a fetch rig's bus holds into a lake, and read tables back (the date-based suites). */
import { rm } from 'node:fs/promises';
import { expect } from 'vitest';
import { openLakeViews } from '../../src/lake/views.ts';
import { createParseStage } from '../../src/stages/parse.ts';
import { createSinkStage } from '../../src/stages/sink.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { linesLeakingSecrets, type FetchRig } from './fetch-fixture.ts';

/** Parses and sinks everything on the rig's bus so far into a lake. */
export async function parseAndSink(r: FetchRig, lake: string): Promise<void> {
  const parse = createParseStage({ bus: r.bus, rawZone: r.rawZone, logger: silentLogger });
  const parsing = await parse.start();
  await parsing.drained();
  await parsing.stop();
  const sink = createSinkStage({ bus: r.bus, lakeRoot: lake, logger: silentLogger, options: { max_ack_delay_ms: 1 } });
  const sinking = await sink.start();
  await sinking.drained();
  await sink.close();
  expect(parse.counters.deadLettered).toBe(0);
}

export async function query(lake: string, sql: string): Promise<Record<string, unknown>[]> {
  const db = await openLakeViews(lake);
  try {
    const rows = (await db.conn.runAndReadAll(sql)).getRowObjectsJS();
    return rows.map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  } finally {
    db.close();
  }
}

export const count = async (lake: string, table: string, where = 'true'): Promise<number> => Number((await query(lake, `SELECT count(*) AS n FROM ${table} WHERE ${where}`))[0]!['n']);

/** A test's teardown: the rig leaked no secret into its logs, then rig and lake are gone. */
export async function closeRigAndLake(rig: FetchRig | undefined, lakeDir: string | undefined): Promise<void> {
  if (rig) expect(linesLeakingSecrets(rig)).toEqual([]);
  await rig?.close();
  if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
}

/**
 * Deliberate crashes for the crash suite (test/crash/). `POLAR_LAKE_CRASH_AT=<point>:<n>` makes
 * the process kill itself with SIGKILL the n-th time it reaches `crashPoint('<point>')`, after
 * appending `{"point", "n", "pid"}` to the file named by `POLAR_LAKE_CRASH_LOG` (so the suite
 * can show where each kill landed). Unset, as in every deployment, a crash point is one
 * comparison. The points sit between the steps whose order the promises depend on; the names
 * are listed in CRASH_POINTS.
 */
import { appendFileSync } from 'node:fs';

export const CRASH_POINTS = [
  'raw.write', // raw object written and fsynced as a temporary, not yet renamed
  'fetch.stored', // payload stored in the raw zone, its event not yet published
  'fetch.published', // events published, the ledger and the AccessLink commit not yet done
  'fetch.commit', // every item stored and published, the transaction not yet committed
  'parse.publish', // a record batch of a source published, the rest of the source not yet
  'parquet.write', // a Parquet file written and fsynced as .tmp, not yet renamed
  'sink.stage', // a source's batches staged (record written), not yet acknowledged
  'sink.promote', // a staged source renamed into a partition, its manifest not yet committed
  'sink.ack', // a flush committed (renamed, manifest written), the bus batch not yet acknowledged
  'compact.merge', // a merged file written as .tmp (the merge began), not yet renamed or committed
  'replay.publish', // replay committed and journaled some raw objects, not all (or announced some events, not all)
] as const;

export type CrashPointName = (typeof CRASH_POINTS)[number];

const spec = /^([a-z.]+):(\d+)$/.exec(process.env['POLAR_LAKE_CRASH_AT'] ?? '');
const target = spec ? { point: spec[1] as string, n: Number(spec[2]) } : null;
let hits = 0;

export function crashPoint(name: CrashPointName): void {
  if (target === null || name !== target.point) return;
  if (++hits !== target.n) return;
  const log = process.env['POLAR_LAKE_CRASH_LOG'];
  if (log) appendFileSync(log, `${JSON.stringify({ point: name, n: hits, pid: process.pid })}\n`);
  process.kill(process.pid, 'SIGKILL');
}

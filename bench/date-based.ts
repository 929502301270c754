/**
 * The date-based sweep end to end (night, heart and biosensing data plus activity and sleep):
 * requests per user and type against the minimum the API allows (one list call per type: 1.00),
 * and the time and rows of one full sweep through fetch, parse and sink on the embedded bus.
 *
 *   node bin/run-ts.mjs bench/date-based.ts [users=10] [days=28]
 */
import { performance } from 'node:perf_hooks';
import { DATE_BASED_TABLES } from '../src/records/rows-date-based.ts';
import { openLakeViews } from '../src/lake/views.ts';
import { startSimulatedApp } from '../test/helpers/simulator-app.ts';

const users = Number(process.argv[2] ?? 10);
const days = Number(process.argv[3] ?? 28);
const rig = await startSimulatedApp({ seed: 5, users, exercisesPerUser: 0, dailyDaysAtRegistration: days, rateLimit: { shortTermLimit: 1_000_000, longTermLimit: 1_000_000 } });
try {
  const t0 = performance.now();
  const report = await rig.app.runOnce();
  const seconds = (performance.now() - t0) / 1000;
  const requests = rig.sim.requestLog.filter((r) => r.path.startsWith('/v3/users/') && r.method === 'GET');
  const perType = new Map<string, number>();
  for (const r of requests) {
    const type = r.path.replace(/^\/v3\/users\//, '').replace(/\/date$/, '');
    perType.set(type, (perType.get(type) ?? 0) + 1);
  }
  console.log(`users ${users}, days ${days}: ${report.daysStored} days stored, ${report.eventsPublished} events, ${(report.bytesStored / 1e6).toFixed(1)} MB raw (gzip)`);
  console.log(`requests per user and type (minimum 1.00):`);
  for (const [type, n] of [...perType].sort()) console.log(`  ${type.padEnd(32)} ${(n / users).toFixed(2)}`);
  console.log(`  total per user per full sweep: ${(requests.length / users).toFixed(2)} over ${perType.size} endpoints`);
  const db = await openLakeViews(rig.lakeDir);
  let rows = 0;
  try {
    for (const t of ['daily_activity', 'sleep', ...DATE_BASED_TABLES]) rows += Number((await db.conn.runAndReadAll(`SELECT count(*) AS n FROM ${t}`)).getRowObjectsJS()[0]!['n']);
  } finally {
    db.close();
  }
  console.log(`fetch + parse + sink: ${seconds.toFixed(1)} s, ${rows} rows in ${2 + DATE_BASED_TABLES.length} tables (${(rows / seconds).toFixed(0)} rows/s)`);
} finally {
  await rig.close();
}

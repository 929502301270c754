/**
 * The full crash suite (issue 7), one command per bus:
 *
 *   node bin/run-ts.mjs scripts/crash-suite.ts [--bus embedded|kafka] [--kills 60] [--seed 7] [--keep DIR]
 *
 * Kafka needs KAFKA_BROKERS (e.g. from `bash scripts/kafka-local.sh start`). Prints one JSON
 * line of figures per run and exits 1 when any guarantee failed. See docs/guarantees.md.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCrashSuite } from '../test/crash/crash-suite.ts';

const { values } = parseArgs({ options: { bus: { type: 'string', default: 'embedded' }, kills: { type: 'string', default: '60' }, seed: { type: 'string', default: '7' }, keep: { type: 'string' } } });
const bus = values.bus === 'kafka' ? 'kafka' : 'embedded';
const brokers = process.env['KAFKA_BROKERS'];
if (bus === 'kafka' && !brokers) {
  console.error('--bus kafka needs KAFKA_BROKERS (bash scripts/kafka-local.sh start)');
  process.exit(2);
}
const r = await runCrashSuite({
  bus, kills: Number(values.kills), seed: Number(values.seed),
  dir: values.keep ?? mkdtempSync(join(tmpdir(), `polar-lake-crash-${bus}-`)), keep: values.keep !== undefined,
  ...(brokers ? { kafkaBrokers: brokers } : {}),
  progress: (line) => console.error(line),
});
console.log(JSON.stringify(r));
const ok = r.pendingAtSimulator === 0 && r.exercisesInLake === r.exercisesCommitted && r.exercisesCommitted === r.exercisesUploaded && r.samplesInLake === r.samplesExpected &&
  r.distinctSampleKeys === r.samplesInLake && r.lapsDoubled === 0 && r.dailyDoubled === 0 && r.unreadableFiles.length === 0 && r.missingLiveFiles.length === 0 &&
  r.temporaries.length === 0 && r.rawTemporaries.length === 0 && r.stagedLeft === 0 && r.compactionKillsMidMerge === (r.killsByPoint['compact.merge'] ?? 0);
process.exit(ok ? 0 : 1);

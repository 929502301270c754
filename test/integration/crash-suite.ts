/**
 * The crash suite's assertions, shared by the embedded and the Kafka test files. CI runs a
 * seeded subset (POLAR_LAKE_CRASH_KILLS unset: one kill at each crash point); the full run is
 * `node bin/run-ts.mjs scripts/crash-suite.ts` (docs/guarantees.md, "Crash suite").
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CRASH_POINTS } from '../../src/crash-points.ts';
import { runCrashSuite, type CrashSuiteOptions } from '../crash/crash-suite.ts';

export function crashSuiteTest(bus: CrashSuiteOptions['bus'], kafkaBrokers?: string): void {
  const kills = Number(process.env['POLAR_LAKE_CRASH_KILLS'] ?? CRASH_POINTS.length);
  const seed = Number(process.env['POLAR_LAKE_CRASH_SEED'] ?? 7);
  it(`crash suite > ${bus} > ${kills} SIGKILLs over every crash point (seed ${seed}), then a drain: every item exactly once, every Parquet file readable, no temporary left`, async () => {
    const r = await runCrashSuite({ bus, kills, seed, dir: mkdtempSync(join(tmpdir(), `polar-lake-crash-${bus}-`)), ...(kafkaBrokers ? { kafkaBrokers } : {}) });
    expect(r.kills).toBe(kills);
    expect(Object.keys(r.killsByPoint).sort()).toEqual([...CRASH_POINTS].sort());
    expect(r.compactionKillsMidMerge).toBe(r.killsByPoint['compact.merge']);
    expect(r.pendingAtSimulator).toBe(0);
    expect(r.exercisesCommitted).toBe(r.exercisesUploaded);
    expect(r.exercisesInLake).toBe(r.exercisesCommitted);
    expect(r.samplesInLake).toBe(r.samplesExpected);
    expect(r.distinctSampleKeys).toBe(r.samplesInLake);
    expect(r.lapsDoubled).toBe(0);
    expect(r.dailyRows).toBeGreaterThan(0);
    expect(r.dailyDoubled).toBe(0);
    expect(r.parquetFilesRead).toBeGreaterThan(0);
    expect(r.unreadableFiles).toEqual([]);
    expect(r.missingLiveFiles).toEqual([]);
    expect(r.temporaries).toEqual([]);
    expect(r.rawTemporaries).toEqual([]);
    expect(r.stagedLeft).toBe(0);
  }, 900_000);
}

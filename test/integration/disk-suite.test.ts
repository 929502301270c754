/**
 * The disk suite: the raw zone and the lake on a full and on a read-only file system (small
 * tmpfs mounts; CI runs as root). Each case: the typed error names the cause, nothing is
 * committed at Polar that is not stored, and once the disk is fixed everything lands, once.
 * Where mounting is not permitted the suite is skipped with a message saying so.
 *
 * Run alone: `npm run suite:disk` (it is also the CI run: it takes well under a minute).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { startSimulator, type SimulatedExercise, type Simulator } from '../../src/simulator/index.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { compactLake } from '../../src/lake/compact.ts';
import { openLakeDuckDB, type LakeDuckDB } from '../../src/lake/duckdb.ts';
import { MOUNT_TMP_DIR, partitionLayout, writeTmpDir } from '../../src/lake/layout.ts';
import { commitPartition, sweepPartitions } from '../../src/lake/partition-writer.ts';
import { loadTableSchema } from '../../src/lake/schema.ts';
import { promoteSource, stagedSources, stageSource } from '../../src/lake/staging.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { lakeFacts } from './pipeline-e2e.ts';
import { filesUnder, samplesBatch } from '../helpers/lake-partition.ts';
import { accessLinkSettings, enrolAll } from '../helpers/simulator-app.ts';

const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });

/** Whether this process may mount a tmpfs (root, or a container with CAP_SYS_ADMIN). */
function mountPermitted(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const probe = mkdtempSync(join(tmpdir(), 'polar-lake-mount-probe-'));
  try {
    const r = run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
    if (r.status !== 0) return `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}`;
    run('umount', [probe]);
    return null;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const whyNot = mountPermitted();
if (whyNot) console.warn(`disk suite skipped: it needs to mount a small tmpfs (run as root, as CI does): ${whyNot}`);

const mount = (dir: string, size: string) => {
  mkdirSync(dir, { recursive: true });
  const r = run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  if (r.status !== 0) throw new Error(`mount ${dir}: ${r.stderr}`);
};
const remount = (dir: string, mode: 'ro' | 'rw') => {
  const r = run('mount', ['-o', `remount,${mode}`, dir]);
  if (r.status !== 0) throw new Error(`remount ${mode} ${dir}: ${r.stderr}`);
};
/** Fills a mount to the last byte with one file; returns a function that frees it. */
const fill = (dir: string) => {
  run('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=65536']);
  return () => rmSync(join(dir, 'filler'), { force: true });
};
const tempFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.includes('.tmp-')).map((e) => e.name);

describe.skipIf(whyNot !== null)('disk suite', () => {
  let dir: string;
  let lakeDir: string;
  let sim: Simulator;
  let app: App;
  const lines: string[] = [];
  const mounts: string[] = [];
  /** Exercises uploaded so far: what the lake must hold in the end. */
  let all: SimulatedExercise[] = [];
  const logged = (pattern: RegExp) => lines.filter((l) => pattern.test(l));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-disk-'));
    lakeDir = join(dir, 'lake');
    for (const [sub, size] of [['raw', '4m'], ['samples', '2m']] as const) {
      mount(join(lakeDir, sub), size);
      mounts.push(join(lakeDir, sub));
    }
    sim = await startSimulator({ seed: 11, users: 2, exercisesPerUser: 2, durationRangeS: [300, 900] });
    app = await createApp({
      lakeDir, stateDir: join(dir, 'state'), pipeline: pipelineFromObject({ version: 1, name: 'disk', fetch: { daily: [], payloads: ['summary', 'tcx', 'gpx', 'fit'] }, sink: { idle_flush_secs: 0.2 } }, 'disk'),
      logger: createLogger({ level: 'info', write: (l) => lines.push(l) }), accesslink: accessLinkSettings(sim),
    });
    await enrolAll(app, sim);
    await app.startConsumers();
    all = sim.pendingExercises();
  });

  afterAll(async () => {
    await app?.close();
    await sim?.close();
    for (const m of mounts.reverse()) run('umount', ['-l', m]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The lake holds every exercise uploaded so far, each sample once. */
  const expectLakeComplete = async () => {
    const facts = await lakeFacts(lakeDir);
    expect(facts.exercises).toBe(all.length);
    expect(facts.samples).toBe(all.reduce((n, e) => n + e.trackpoints, 0));
    expect(facts.distinctSampleKeys).toBe(facts.samples);
  };

  it('raw zone on a full disk: PL_RAW_DISK_FULL names ENOSPC, nothing is committed, and after space is freed everything lands', async () => {
    const free = fill(join(lakeDir, 'raw'));
    const failing = await app.runOnce();
    expect(failing.errorsByCode['PL_RAW_DISK_FULL']).toBeGreaterThan(0);
    expect(logged(/PL_RAW_DISK_FULL/).some((l) => l.includes('disk full (ENOSPC)'))).toBe(true);
    expect(failing.transactionsCommitted).toBe(0);
    expect(sim.committedExercises()).toEqual([]);
    expect(tempFiles(join(lakeDir, 'raw'))).toEqual([]);

    free();
    const recovered = await app.runOnce();
    expect(recovered.transactionsCommitted, JSON.stringify(recovered)).toBe(2);
    expect(sim.pendingExercises()).toEqual([]);
    await expectLakeComplete();
  });

  it('raw zone read-only: PL_RAW_READ_ONLY names EROFS, nothing is committed, and after a read-write remount everything lands', async () => {
    all = [...all, ...sim.uploadExercises(sim.accounts[0]!.polarUserId, 2)];
    remount(join(lakeDir, 'raw'), 'ro');
    const failing = await app.runOnce();
    expect(failing.errorsByCode, JSON.stringify(failing)).toHaveProperty('PL_RAW_READ_ONLY');
    expect(logged(/PL_RAW_READ_ONLY/).some((l) => l.includes('read-only file system (EROFS)'))).toBe(true);
    expect(failing.transactionsCommitted).toBe(0);
    expect(sim.pendingExercises()).toHaveLength(2);

    remount(join(lakeDir, 'raw'), 'rw');
    const recovered = await app.runOnce();
    expect(recovered.transactionsCommitted).toBe(1);
    expect(sim.pendingExercises()).toEqual([]);
    await expectLakeComplete();
  });

  /** Fetches (raw zone fine: Polar commits, the raw zone holds it), then waits for the sink to fail on `pattern`. */
  const fetchWhileLakeFails = async (pattern: RegExp) => {
    const before = lines.length;
    const report = await app.fetch!.runOnce();
    expect(report.transactionsCommitted).toBe(1);
    for (let i = 0; i < 600 && !lines.slice(before).some((l) => pattern.test(l)); i++) await new Promise((r) => setTimeout(r, 50));
    const matching = lines.slice(before).filter((l) => pattern.test(l));
    return matching;
  };

  /** Recovery: the sink catches up (its redelivery), or a replay of the raw zone rebuilds what it gave up on. */
  const recoverLake = async () => {
    await app.drain();
    const facts = await lakeFacts(lakeDir);
    const replayed = facts.exercises !== all.length || facts.samples !== all.reduce((n, e) => n + e.trackpoints, 0);
    if (replayed) {
      await app.replayRawZone();
      await app.drain();
    }
    console.info(`disk suite: the lake recovered ${replayed ? 'by a replay of the raw zone' : 'by the sink redelivering the failed batches'}`);
    await expectLakeComplete();
  };

  it('lake (samples) on a full disk: PL_LAKE_WRITE_FAILED names ENOSPC; after space is freed the table is complete, once', async () => {
    all = [...all, ...sim.uploadExercises(sim.accounts[1]!.polarUserId, 2)];
    const free = fill(join(lakeDir, 'samples'));
    const failures = await fetchWhileLakeFails(/PL_LAKE_WRITE_FAILED/);
    expect(failures.some((l) => l.includes('disk full (ENOSPC)')), failures.join('\n')).toBe(true);
    free();
    await recoverLake();
    expect(tempFiles(join(lakeDir, 'samples'))).toEqual([]);
  });

  it('lake (samples) read-only: PL_LAKE_WRITE_FAILED names EROFS; after a read-write remount the table is complete, once', async () => {
    all = [...all, ...sim.uploadExercises(sim.accounts[0]!.polarUserId, 1)];
    remount(join(lakeDir, 'samples'), 'ro');
    const failures = await fetchWhileLakeFails(/PL_LAKE_WRITE_FAILED|EROFS|read-only/i);
    expect(failures.some((l) => /EROFS|read-only file system/i.test(l)), failures.join('\n')).toBe(true);
    remount(join(lakeDir, 'samples'), 'rw');
    await recoverLake();
  });
});

/**
 * A table folder on a file system of its own (a volume per table): a temporary written in the
 * metadata area could not be renamed into it (EXDEV), so the writers use the mount's own
 * `_polar_lake_tmp/` (src/lake/layout.ts, writeTmpDir), and a staged file is copied across.
 */
describe.skipIf(whyNot !== null)('disk suite > a table folder that is its own mount', () => {
  let lake: string;
  let db: LakeDuckDB;
  const schema = loadTableSchema('samples');
  const FEB = 'year=2026/month=02';

  beforeAll(async () => {
    lake = mkdtempSync(join(tmpdir(), 'polar-lake-mounted-table-'));
    mount(join(lake, 'samples'), '8m');
    db = await openLakeDuckDB();
  });
  afterAll(() => {
    db?.close();
    run('umount', ['-l', join(lake, 'samples')]);
    rmSync(lake, { recursive: true, force: true });
  });

  const viewCount = async () => {
    const v = await openLakeViews(lake);
    try {
      return Number((await v.conn.runAndReadAll('SELECT count(*) FROM samples')).getRows()[0]?.[0]);
    } finally {
      v.close();
    }
  };

  it('commits, a staged source promoted across file systems and compaction all land; the table folder holds only Parquet files', async () => {
    const layout = partitionLayout(lake, 'samples', FEB);
    expect(writeTmpDir(layout)).toBe(join(lake, 'samples', MOUNT_TMP_DIR, 'year=2026', 'month=02'));
    for (const s of ['a', 'b']) await commitPartition(db.conn, lake, schema, FEB, [samplesBatch(s, 2, 100)]);

    // Staged in the metadata area (the lake root's file system), promoted into the mount.
    const b = samplesBatch('staged', 2, 80);
    const record = await stageSource(db.conn, lake, schema, 'staged', [[0, 80, b.hash]], new Map([[FEB, [{ ...b, last: false }]]]), {});
    expect(await promoteSource(db.conn, lake, schema, record, {})).toBe(80);
    expect(stagedSources(lake, 'samples')).toBe(0);
    expect(await viewCount()).toBe(280);

    // A crash's leftover in the mount's tmp folder goes at the next sweep.
    writeFileSync(join(writeTmpDir(layout), 'part-x.parquet.tmp'), 'cut short');
    expect(await sweepPartitions(lake, ['samples'])).toBe(1);

    expect(await compactLake(db.conn, lake, { tables: ['samples'] })).toEqual([expect.objectContaining({ partition: FEB, inputFiles: 3, outputFiles: 1, rows: 280 })]);
    expect(await viewCount()).toBe(280);
    expect(filesUnder(join(lake, 'samples'))).toEqual([expect.stringMatching(/^year=2026\/month=02\/compact-[0-9a-f]{24}\.parquet$/)]);
  });
});

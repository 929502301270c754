/**
 * `polar-lake replay` as a job (src/jobs/replay/): filters, parallel = serial, resumption after
 * SIGKILL, dead letters with reasons, and the CLI's summary, --json and exit code. The lake is
 * read back with DuckDB (lakeFacts: counts and checksums of every table).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, cpSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReplay } from '../../src/jobs/replay/job.ts';
import { createJobProgress, type JobSummary } from '../../src/jobs/progress.ts';
import { loadPipeline } from '../../src/pipeline/load.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { lakeFacts } from './pipeline-e2e.ts';
import { writeReplayRawZone, type ReplayFixture } from '../helpers/replay-fixture.ts';
import type { ReplayFilter } from '../../src/stages/replay.ts';

const run = promisify(execFile);
const pipeline = loadPipeline('pipelines/default.yaml');

describe('replay job', () => {
  let dir: string;
  let seedLake: string;
  let fx: ReplayFixture;
  let n = 0;

  /** A fresh lake + state holding the fixture's raw zone only. */
  const freshLake = () => {
    const root = join(dir, `run-${n++}`);
    cpSync(seedLake, join(root, 'lake'), { recursive: true });
    return { lakeDir: join(root, 'lake'), stateDir: join(root, 'state') };
  };
  const replay = async (where: { lakeDir: string; stateDir: string }, options: { workers?: number; filter?: ReplayFilter } = {}) => {
    const progress = createJobProgress({ job: 'replay', mode: 'silent' });
    const report = await runReplay({ ...where, pipeline, progress, logger: silentLogger, workers: options.workers ?? 2, ...(options.filter ? { filter: options.filter } : {}) });
    return { report, summary: progress.finish() };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-replay-'));
    seedLake = join(dir, 'seed-lake');
    fx = await writeReplayRawZone(seedLake, { seed: 7, users: 2, exercisesPerUser: 3, bad: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('replays everything; bad raw objects are dead-lettered with their reasons while the rest is stored; a second run changes nothing', async () => {
    const lake = freshLake();
    const { summary } = await replay(lake);
    expect(summary.seen).toBe(fx.keys.length);
    expect(summary.failed).toBe(2);
    expect(summary.stored).toBe(fx.keys.length - 2);
    expect(summary.failures.map((f) => f.path).sort()).toEqual([...fx.badKeys].sort());
    expect(summary.failed_by_code).toEqual({ PL_PARSE_BAD_EVENT: 1, PL_PARSE_TRUNCATED: 1 });
    const first = await lakeFacts(lake.lakeDir);
    expect(first.exercises).toBe(7); // 6 good + the one whose TCX is truncated (its summary is fine)
    expect(first.samples).toBeGreaterThan(1000);
    expect(first.distinctSampleKeys).toBe(first.samples);
    // Finished: the journal is gone, so a second replay redoes all of it, and the lake is the same.
    expect(readdirSync(join(lake.stateDir, 'replay'))).toEqual([]);
    const again = await replay(lake);
    expect(again.summary.stored).toBe(fx.keys.length - 2);
    expect(await lakeFacts(lake.lakeDir)).toEqual(first);
  });

  it('parallel (3 workers) gives the same lake as serial (1 worker)', async () => {
    const serial = freshLake();
    const parallel = freshLake();
    expect((await replay(serial, { workers: 1 })).report.workers).toBe(1);
    expect((await replay(parallel, { workers: 3 })).report.workers).toBe(3);
    expect(await lakeFacts(parallel.lakeDir)).toEqual(await lakeFacts(serial.lakeDir));
  });

  it('filters by table, user and date', async () => {
    const byTable = freshLake();
    await replay(byTable, { filter: { payloads: ['summary'] } });
    const t = await lakeFacts(byTable.lakeDir);
    expect([t.exercises, t.samples, t.laps]).toEqual([7, 0, 0]);

    const byUser = freshLake();
    const user = fx.users[1] as string;
    await replay(byUser, { filter: { users: [user] } });
    expect((await lakeFacts(byUser.lakeDir)).exerciseIds.length).toBe(3);

    const byDate = freshLake();
    const userDates = [...fx.dates].filter(([id]) => id.startsWith(`${user}/`)).map(([, d]) => d).sort();
    const [since, until] = [userDates[0] as string, userDates[1] as string];
    const expected = [...fx.dates].filter(([, d]) => d >= since && d <= until).map(([id]) => id.split('/')[1]).sort();
    const { summary } = await replay(byDate, { filter: { since, until } });
    expect(summary.failed).toBe(0);
    expect((await lakeFacts(byDate.lakeDir)).exerciseIds).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(6);
  });

  it('SIGKILL mid-replay, then a rerun: the same lake as one clean run, nothing doubled, journaled objects skipped', async () => {
    const clean = freshLake();
    await replay(clean);
    const killed = freshLake();
    const child = spawn(process.execPath, ['bin/run-ts.mjs', 'test/helpers/replay-kill-child.ts', killed.lakeDir, killed.stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal, stderr).toBe('SIGKILL');
    expect(existsSync(join(killed.stateDir, 'replay'))).toBe(true);
    const { summary } = await replay(killed);
    expect(summary.already_present).toBeGreaterThan(0);
    expect(summary.already_present + summary.stored + summary.failed).toBe(fx.keys.length);
    expect(await lakeFacts(killed.lakeDir)).toEqual(await lakeFacts(clean.lakeDir));
  });

  it('CLI: text summary, --json, and exit code 1 when anything failed (0 when nothing did)', async () => {
    const lake = freshLake();
    const env = { ...process.env, POLAR_LAKE_DIR: lake.lakeDir, POLAR_LAKE_STATE_DIR: lake.stateDir };
    const failed = await run(process.execPath, ['bin/polar-lake.mjs', 'replay', '--json', '--workers', '2'], { env }).then(
      () => null,
      (error: { code: number; stdout: string }) => error,
    );
    expect(failed?.code).toBe(1);
    const summary = JSON.parse(failed?.stdout ?? '{}') as JobSummary;
    expect(summary).toMatchObject({ job: 'replay', seen: fx.keys.length, stored: fx.keys.length - 2, failed: 2 });
    expect(summary.failures.map((f) => f.code).sort()).toEqual(['PL_PARSE_BAD_EVENT', 'PL_PARSE_TRUNCATED']);

    const ok = await run(process.execPath, ['bin/polar-lake.mjs', 'replay', '--users', fx.users[1] as string], { env });
    expect(ok.stdout).toMatch(/replay: 8 raw objects seen/);
    expect(ok.stdout).toMatch(/stored\s+8/);
    expect(ok.stderr).toMatch(/replay: 8\/8 raw objects/); // plain progress line off a terminal
  });
});

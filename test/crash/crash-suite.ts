/**
 * The crash suite (issue 7): the pipeline as child processes (`polar-lake run --once`,
 * `replay`, `compact`) against the simulator, with exercises arriving between runs, each
 * process killed with SIGKILL at a seeded crash point (src/crash-points.ts: the process kills
 * itself the n-th time it reaches the point, after logging where). Then the pipeline runs to
 * the end without faults and the lake is compared with the simulator's record: every
 * committed exercise exactly once in `exercises`, every trackpoint exactly once in `samples`,
 * daily rows once per (user, date), every Parquet file readable by DuckDB, no temporary
 * object left (lake and raw zone), nothing left staged.
 *
 * Used by test/integration/crash-suite-*.test.ts (a seeded subset in CI) and by
 * scripts/crash-suite.ts (the full run: `node bin/run-ts.mjs scripts/crash-suite.ts`).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CRASH_POINTS, type CrashPointName } from '../../src/crash-points.ts';
import { openLakeDuckDB } from '../../src/lake/duckdb.ts';
import { listPartitions } from '../../src/lake/views.ts';
import { TABLE_NAMES } from '../../src/lake/schema.ts';
import { stagedSources } from '../../src/lake/staging.ts';
import { intBetween, mulberry32 } from '../../src/simulator/random.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { lakeFacts } from '../integration/pipeline-e2e.ts';
import { cliEnvironment } from '../helpers/simulator-app.ts';

export interface CrashSuiteOptions {
  readonly bus: 'embedded' | 'kafka';
  /** SIGKILLs to land (runs whose point was not reached do not count). */
  readonly kills: number;
  readonly seed: number;
  /** Work folder (removed at the end unless `keep`). */
  readonly dir: string;
  readonly kafkaBrokers?: string;
  readonly keep?: boolean;
  readonly progress?: (line: string) => void;
}

export interface CrashSuiteResult {
  readonly bus: string;
  readonly seed: number;
  readonly kills: number;
  readonly killsByPoint: Record<string, number>;
  /** Runs whose crash point was not reached (they ran to the end). */
  readonly notReached: number;
  /** Compaction kills whose merge had begun: the merged .tmp was on disk when the process died. */
  readonly compactionKillsMidMerge: number;
  readonly exercisesUploaded: number;
  readonly exercisesCommitted: number;
  readonly exercisesInLake: number;
  readonly samplesExpected: number;
  readonly samplesInLake: number;
  readonly distinctSampleKeys: number;
  readonly lapsDoubled: number;
  readonly dailyRows: number;
  readonly dailyDoubled: number;
  readonly parquetFilesRead: number;
  readonly unreadableFiles: readonly string[];
  readonly missingLiveFiles: readonly string[];
  /** Temporaries in the lake's tables (`.tmp`, staged files, unlisted Parquet files). */
  readonly temporaries: readonly string[];
  /** Temporaries in the raw zone (`*.tmp-*` of a killed writer; removed by the raw zone's start-up sweep). */
  readonly rawTemporaries: readonly string[];
  readonly stagedLeft: number;
  readonly pendingAtSimulator: number;
  readonly seconds: number;
}

/** The command a kill at this point runs under: compaction and replay have their own. */
function commandFor(point: CrashPointName, rng: () => number, bus: CrashSuiteOptions['bus']): string[] {
  if (point === 'compact.merge') return ['compact'];
  if (point === 'replay.publish') return ['replay'];
  // Embedded, a replay also re-parses and sinks in its process (with Kafka it only publishes).
  if (bus === 'embedded' && (point === 'parse.publish' || point === 'sink.stage') && rng() < 0.3) return ['replay'];
  return ['run', '--once'];
}

/** How many times a point may be passed before the kill (seeded), by how often a run passes it. */
const MAX_OCCURRENCE: Record<CrashPointName, number> = {
  'raw.write': 8, 'fetch.stored': 6, 'fetch.published': 3, 'fetch.commit': 2, 'parse.publish': 12, 'parquet.write': 6,
  'sink.stage': 4, 'sink.promote': 2, 'sink.ack': 5, 'compact.merge': 3, 'replay.publish': 4,
};

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

function runCli(args: readonly string[], env: NodeJS.ProcessEnv, logFile: string, timeoutMs = 240_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-semi-space-size=4', 'bin/polar-lake.mjs', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`polar-lake ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr in ${logFile}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      writeFileSync(logFile, Buffer.concat(err), { flag: 'a' });
      resolve({ code, signal });
    });
  });
}

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** Anything a crash can leave that is not part of the lake or raw zone. */
function temporaries(lake: string): string[] {
  const live = new Set<string>();
  for (const t of TABLE_NAMES) for (const p of listPartitions(lake, t)) for (const f of p.manifest.files) live.add(join(p.dir, f.name));
  return walk(lake)
    .filter((f) => {
      const name = f.slice(f.lastIndexOf('/') + 1);
      if (/\.tmp($|-)/.test(name) || name.endsWith('.staged')) return true;
      if (f.includes('/_polar_lake/staging/')) return true;
      // A Parquet file in a table folder that no manifest lists: an orphan (glob readers would count it).
      return name.endsWith('.parquet') && !f.includes('/raw/') && !live.has(f);
    })
    .map((f) => relative(lake, f));
}

export async function runCrashSuite(options: CrashSuiteOptions): Promise<CrashSuiteResult> {
  const started = Date.now();
  const say = options.progress ?? (() => undefined);
  const rng = mulberry32(options.seed);
  mkdirSync(options.dir, { recursive: true });
  const sim = await startSimulator({ seed: options.seed, users: 2, exercisesPerUser: 2, durationRangeS: [300, 1500], dailyDaysAtRegistration: 3 });
  try {
    const pipelineFile = join(options.dir, 'crash.yaml');
    // Small batches and flushes: a file's rows reach the sink over several commits (staged, then promoted).
    writeFileSync(
      pipelineFile,
      [
        'version: 1', 'name: crash', 'fetch:', '  payloads: [summary, tcx, gpx]', '  daily: [activity, sleep]', 'parse:', '  batch_rows: 128',
        'sink:', '  flush_rows: 400', '  idle_flush_secs: 1', 'bus:', '  partitions: 2', '  session_timeout_ms: 6000',
        '  redelivery: { max_attempts: 5, backoff_ms: 20, max_backoff_ms: 200 }', '',
      ].join('\n'),
    );
    const crashLog = join(options.dir, 'crash.log');
    const stderrLog = join(options.dir, 'stderr.log');
    const extra: NodeJS.ProcessEnv = { POLAR_LAKE_CRASH_LOG: crashLog, POLAR_LAKE_PIPELINE: pipelineFile, POLAR_LAKE_LOG_LEVEL: 'error' };
    if (options.bus === 'kafka') {
      if (!options.kafkaBrokers) throw new Error('the Kafka crash suite needs brokers');
      extra['KAFKA_BROKERS'] = options.kafkaBrokers;
      extra['POLAR_LAKE_TOPIC_PREFIX'] = `crash-${randomBytes(4).toString('hex')}.`;
    }
    const env = await cliEnvironment(sim, options.dir, extra);
    const lake = env['POLAR_LAKE_DIR'] as string;
    const withPipeline = (args: string[]) => [...args, '--pipeline', pipelineFile];

    const killsByPoint: Record<string, number> = {};
    let kills = 0;
    let notReached = 0;
    let midMerge = 0;
    let uploaded = sim.accounts.length * 2;
    // Every point first, in order, until it has a kill (the last tries at its first occurrence); then seeded draws.
    const firsts = CRASH_POINTS.flatMap((p) => [p, p, p, p]);
    const tried = new Set<string>();
    for (let attempt = 0; kills < options.kills && attempt < options.kills * 4 + firsts.length; attempt++) {
      const covering = firsts.length > 0;
      const point = covering ? (firsts.shift() as CrashPointName) : (CRASH_POINTS[intBetween(rng, 0, CRASH_POINTS.length - 1)] as CrashPointName);
      if (covering && killsByPoint[point]) continue;
      // A point's first try kills at its first occurrence (a run that finishes instead, e.g. a
      // compaction that merged everything, leaves nothing for a later occurrence to hit).
      const n = covering && !tried.has(point) ? 1 : intBetween(rng, 1, MAX_OCCURRENCE[point]);
      tried.add(point);
      const args = commandFor(point, rng, options.bus);
      // Exercises keep arriving: a new upload before most fetch runs.
      if (args[0] === 'run' && rng() < 0.7) {
        const account = sim.accounts[intBetween(rng, 0, sim.accounts.length - 1)]!;
        uploaded += sim.uploadExercises(account.polarUserId, intBetween(rng, 1, 2)).length;
      }
      const before = existsSync(crashLog) ? readFileSync(crashLog, 'utf8') : '';
      const exit = await runCli(withPipeline(args), { ...env, POLAR_LAKE_CRASH_AT: `${point}:${n}` }, stderrLog);
      if (exit.signal === 'SIGKILL') {
        const logged = readFileSync(crashLog, 'utf8').slice(before.length).trim();
        const entry = JSON.parse(logged) as { point: string; n: number };
        if (entry.point !== point || entry.n !== n) throw new Error(`killed at ${logged}, planned ${point}:${n}`);
        kills++;
        killsByPoint[point] = (killsByPoint[point] ?? 0) + 1;
        if (point === 'compact.merge' && walk(lake).some((f) => /compact-[0-9a-f]+\.parquet\.tmp$/.test(f))) midMerge++;
        say(`kill ${kills}/${options.kills}: ${args.join(' ')} at ${point}:${n}`);
      } else if (exit.code === 0) {
        notReached++;
        say(`not reached: ${args.join(' ')} at ${point}:${n}`);
      } else {
        throw new Error(`polar-lake ${args.join(' ')} exited with ${exit.code ?? exit.signal} (crash point ${point}:${n}); stderr in ${stderrLog}`);
      }
    }

    // Drain: run without faults until the simulator has nothing pending and a run changes nothing.
    for (let i = 0; i < 6; i++) {
      const exit = await runCli(withPipeline(['run', '--once']), env, stderrLog);
      if (exit.code !== 0) throw new Error(`final run exited with ${exit.code ?? exit.signal}; stderr in ${stderrLog}`);
      // run --once drains parse and sink before it exits: nothing pending at the simulator is the end.
      if (sim.pendingExercises().length === 0) break;
    }

    const committed = sim.committedExercises();
    const facts = await lakeFacts(lake);
    const db = await openLakeDuckDB();
    const unreadable: string[] = [];
    const missing: string[] = [];
    let read = 0;
    let lapsDoubled = 0;
    let dailyRows = 0;
    let dailyDoubled = 0;
    try {
      for (const f of walk(lake).filter((p) => p.endsWith('.parquet') && !p.includes('/raw/'))) {
        try {
          await db.conn.run(`SELECT count(*) FROM read_parquet('${f.replaceAll("'", "''")}')`);
          read++;
        } catch {
          unreadable.push(relative(lake, f));
        }
      }
      for (const t of TABLE_NAMES) for (const p of listPartitions(lake, t)) for (const f of p.manifest.files) if (!existsSync(join(p.dir, f.name))) missing.push(`${t}/${p.partition}/${f.name}`);
    } finally {
      db.close();
    }
    const views = await import('../../src/lake/views.ts').then((m) => m.openLakeViews(lake));
    try {
      const one = async (sql: string) => Number((await views.conn.runAndReadAll(sql)).getRows()[0]?.[0]);
      lapsDoubled = await one('SELECT count(*) - count(DISTINCT (exercise_id, activity_index, lap_index)) FROM laps');
      dailyRows = (await one('SELECT count(*) FROM daily_activity')) + (await one('SELECT count(*) FROM sleep'));
      dailyDoubled =
        (await one('SELECT count(*) - count(DISTINCT (user_id, local_date)) FROM daily_activity')) + (await one('SELECT count(*) - count(DISTINCT (user_id, local_date)) FROM sleep'));
    } finally {
      views.close();
    }
    return {
      bus: options.bus,
      seed: options.seed,
      kills,
      killsByPoint,
      notReached,
      compactionKillsMidMerge: midMerge,
      exercisesUploaded: uploaded,
      exercisesCommitted: committed.length,
      exercisesInLake: facts.exercises,
      // An exercise with neither TCX nor GPX (indoor, no file) has no samples.
      samplesExpected: committed.filter((e) => e.hasTcx || e.hasGpx || e.hasFit).reduce((s, e) => s + e.trackpoints, 0),
      samplesInLake: facts.samples,
      distinctSampleKeys: facts.distinctSampleKeys,
      lapsDoubled,
      dailyRows,
      dailyDoubled,
      parquetFilesRead: read,
      unreadableFiles: unreadable,
      missingLiveFiles: missing,
      temporaries: temporaries(lake).filter((f) => !f.startsWith('raw/')),
      rawTemporaries: temporaries(lake).filter((f) => f.startsWith('raw/')),
      stagedLeft: TABLE_NAMES.reduce((n, t) => n + stagedSources(lake, t), 0),
      pendingAtSimulator: sim.pendingExercises().length,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    await sim.close();
    if (!options.keep) rmSync(options.dir, { recursive: true, force: true });
  }
}

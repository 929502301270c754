/**
 * Scale bench: the whole distributed pipeline over a real Kafka broker against the bundled
 * AccessLink simulator, each stage its own `polar-lake run --stage` process (dist/, as
 * deployed: `npm run build` first).
 *
 *   npm run bench:e2e -- [--users 200] [--exercises 2] [--minutes 20] [--time-scale 60]
 *                        [--daily-days 1] [--idle-flush 1] [--concurrency 32] [--timeout-min 30]
 *                        [--request-concurrency N (default: pipelines/default.yaml's)] [--seed 7]
 *                        [--cpu-prof DIR (each stage process writes DIR/<stage>.cpuprofile)]
 *
 * The stages run pipelines/default.yaml except sink.idle_flush_secs (--idle-flush, 1 s instead of
 * 30 s, so the last partial files are not held 30 s before the drain can end) and, if given,
 * fetch.request_concurrency. --concurrency is the enrolment's parallelism.
 *
 * Steps: a broker from scripts/kafka-local.sh on free ports (or KAFKA_BROKERS if set; a
 * started broker is stopped at the end); the simulator in this process with `--users`
 * accounts, each uploading `--exercises` workouts of `--minutes` at 1 Hz; every account
 * enrolled through the real OAuth code flow (concurrently; the user registry writes
 * concurrent enrolments together); parse and sink started and ready; then the clock starts,
 * `run --once --stage fetch` sweeps every user, and the bench waits until both consumer
 * groups have acknowledged everything (lag 0 on every partition, from their /metrics).
 *
 * Time scaling of the budget: the simulator enforces Polar's formula unchanged (500 + 20 ×
 * registered users per short window, 5000 + 100 × users per long window) but its windows are
 * 15 min / S and 24 h / S of wall time (S = --time-scale): the rate limiter runs on a clock S
 * times faster, so a sweep that spends a window's budget waits 15 min / S for the next one
 * instead of 15 min. Every request counts against the windows, rejected ones included, as at
 * Polar. "Requests over budget" is the number of AccessLink requests of the fetch run that the
 * simulator answered 429 because a window was spent (no faults are injected, so every 429 is
 * one); the enrolment's POST /v3/users calls count in the first window too.
 *
 * Printed: time to drain; samples per second end to end (samples / drain time) against the
 * parser alone on the same payloads (src/parse on the very raw objects the fetch stored, in
 * this process, after the run; goal: ratio ≥ 0.5); requests over budget (goal 0); peak RSS of
 * each stage process (VmHWM from /proc, sampled every 200 ms while it lives); CPU seconds of
 * each stage process and of this one (the simulator's), which a loaded machine does not inflate.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import PQueue from 'p-queue';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { enrolUser } from '../src/accesslink/enrol.ts';
import { createApp } from '../src/app.ts';
import { createRawZone, parseRawKey } from '../src/lake/raw-zone.ts';
import { openLakeViews } from '../src/lake/views.ts';
import { parseFile } from '../src/parse/index.ts';
import { pipelineFromObject } from '../src/pipeline/load.ts';
import type { PayloadKind } from '../src/records/envelope.ts';
import { SAMPLE_FEED_ORDER } from '../src/stages/fetch-exercise.ts';
import { startSimulator, type Simulator } from '../src/simulator/index.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { cpuSeconds, freePort, metricSum, peakRssMb } from './e2e-probes.ts';

const ROOT = resolve(import.meta.dirname, '..');
const KAFKA_SCRIPT = join(ROOT, 'scripts', 'kafka-local.sh');
const run = promisify(execFile);

const { values: flags } = parseArgs({
  options: {
    users: { type: 'string', default: '200' },
    exercises: { type: 'string', default: '2' },
    minutes: { type: 'string', default: '20' },
    'time-scale': { type: 'string', default: '60' },
    'daily-days': { type: 'string', default: '1' },
    'idle-flush': { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '32' },
    'timeout-min': { type: 'string', default: '30' },
    seed: { type: 'string', default: '7' },
    'request-concurrency': { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const num = (name: keyof typeof flags): number => {
  const v = Number(flags[name]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number, got ${String(flags[name])}`);
  return v;
};
const users = num('users');
const exercisesPerUser = num('exercises');
const minutes = num('minutes');
const timeScale = num('time-scale');
const dailyDays = num('daily-days');
const idleFlushSecs = num('idle-flush');
const enrolConcurrency = num('concurrency');
const timeoutMs = num('timeout-min') * 60_000;
const seed = num('seed');

const SHORT_WINDOW_MS = 900_000;
const LONG_WINDOW_MS = 86_400_000;
const seconds = (ms: number) => +(ms / 1000).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`[bench:e2e] ${line}\n`);

async function startBroker(): Promise<{ brokers: string; stop(): Promise<void> }> {
  if (process.env['KAFKA_BROKERS']) return { brokers: process.env['KAFKA_BROKERS'], stop: async () => {} };
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort), KAFKA_OWNER_PID: String(process.pid) };
  await run('bash', [KAFKA_SCRIPT, 'start'], { cwd: ROOT, env, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
  return {
    brokers: `127.0.0.1:${port}`,
    stop: async () => void (await run('bash', [KAFKA_SCRIPT, 'stop'], { cwd: ROOT, env, timeout: 120_000 })),
  };
}

/** Every simulated account approves access and is enrolled (code exchange, registration, registry), `concurrency` at a time. */
async function enrolEveryone(sim: Simulator, lakeDir: string, stateDir: string): Promise<void> {
  const app = await createApp({
    lakeDir, stateDir, logger: silentLogger, pipeline: pipelineFromObject({ version: 1, name: 'bench-enrol' }, 'bench'),
    accesslink: {
      apiBaseUrl: sim.apiBaseUrl, authorizeUrl: sim.authorizeUrl, tokenUrl: sim.tokenUrl,
      redirectUri: sim.redirectUri, clientId: sim.clientId, clientSecret: sim.clientSecret,
    },
  });
  try {
    const queue = new PQueue({ concurrency: enrolConcurrency });
    await Promise.all(sim.accounts.map((account) => queue.add(async () => {
      const { code } = await sim.approve(account.login, 'bench');
      await enrolUser({ oauth: app.oauth!, client: app.client!, users: app.users, code, memberId: account.login });
    })));
  } finally {
    await app.close();
  }
}

interface Stage {
  readonly name: string;
  readonly child: ChildProcess;
  readonly metricsUrl: string | null;
  stdout: string;
  stderr: string;
  peakRssMb: number;
  cpuSeconds: number;
}

function startStage(name: string, args: string[], env: NodeJS.ProcessEnv, metricsPort: number | null): Stage {
  const stageEnv = { ...env, ...(metricsPort ? { POLAR_LAKE_METRICS_LISTEN: `127.0.0.1:${metricsPort}` } : {}) };
  const profiling = flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(flags['cpu-prof'])}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const child = spawn(process.execPath, ['--max-semi-space-size=4', ...profiling, 'bin/polar-lake.mjs', 'run', ...args], { cwd: ROOT, env: stageEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const stage: Stage = { name, child, metricsUrl: metricsPort ? `http://127.0.0.1:${metricsPort}` : null, stdout: '', stderr: '', peakRssMb: 0, cpuSeconds: 0 };
  child.stdout!.on('data', (d: Buffer) => void (stage.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => void (stage.stderr = (stage.stderr + d.toString()).slice(-20_000)));
  return stage;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
}

async function metricsOf(stage: Stage): Promise<string> {
  const res = await fetch(`${stage.metricsUrl}/metrics`);
  if (!res.ok) throw new Error(`${stage.name} /metrics answered ${res.status}`);
  return res.text();
}

async function waitReady(stage: Stage, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (stage.child.exitCode !== null) throw new Error(`${stage.name} exited ${stage.child.exitCode}: ${stage.stderr.slice(-2000)}`);
    const ok = await fetch(`${stage.metricsUrl}/ready`).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(250);
  }
  throw new Error(`${stage.name} not ready in time: ${stage.stderr.slice(-2000)}`);
}

/** The stage group's total lag, or null while it cannot be read (absent series are not 0). */
async function lagOf(stage: Stage): Promise<number | null> {
  const text = await metricsOf(stage).catch(() => null);
  return text === null ? null : metricSum(text, 'polar_consumer_lag_messages', { stage: stage.name });
}

/**
 * The parser alone over the files the parse stage parsed: per exercise the one that feeds the
 * samples (FIT, else TCX, else GPX, as the fetch stage decides), with the pipeline's parse options.
 */
async function parserAlone(lakeDir: string, options: { tokenizer: 'fast' | 'saxes' | 'sax'; batchRows: number }) {
  const rawZone = createRawZone(lakeDir);
  type File = { key: string; payload: 'tcx' | 'gpx' | 'fit'; userId: string; exerciseId: string };
  const feeders = new Map<string, File>();
  const rank = (p: string) => SAMPLE_FEED_ORDER.indexOf(p as PayloadKind);
  for await (const key of rawZone.list('raw/exercises/')) {
    const k = parseRawKey(key);
    if (k?.area !== 'exercises' || (k.payload !== 'tcx' && k.payload !== 'gpx' && k.payload !== 'fit')) continue;
    const id = `${k.userId}/${k.exerciseId}`;
    const current = feeders.get(id);
    if (!current || rank(k.payload) < rank(current.payload)) feeders.set(id, { key, payload: k.payload, userId: k.userId, exerciseId: k.exerciseId });
  }
  const keys = [...feeders.values()].sort((a, b) => a.key.localeCompare(b.key));
  let samples = 0;
  const started = performance.now();
  for (const { key, payload, userId, exerciseId } of keys) {
    const ctx = { userId, exerciseId, file: key, utcOffsetMin: null };
    for await (const out of parseFile(rawZone.openStored(key), payload, ctx, options)) if (out.table === 'samples') samples += out.rows.length;
  }
  return { files: keys.length, samples, ms: performance.now() - started };
}

const work = await mkdtemp(join(tmpdir(), 'polar-lake-bench-e2e-'));
const lakeDir = join(work, 'lake');
const stateDir = join(work, 'state');
const stages: Stage[] = [];
let broker: { brokers: string; stop(): Promise<void> } | null = null;
let sim: Simulator | null = null;
let sampler: NodeJS.Timeout | null = null;
try {
  log(`starting a Kafka broker`);
  broker = await startBroker();
  sim = await startSimulator({
    seed, users, exercisesPerUser, durationRangeS: [minutes * 60, minutes * 60], dailyDaysAtRegistration: dailyDays,
    rateLimit: { shortTermWindowMs: Math.round(SHORT_WINDOW_MS / timeScale), longTermWindowMs: Math.round(LONG_WINDOW_MS / timeScale) },
  });
  log(`enrolling ${users} users`);
  let t = performance.now();
  await enrolEveryone(sim, lakeDir, stateDir);
  const enrolMs = performance.now() - t;
  const enrolRequests = sim.requestLog.length;

  const defaults = parseYaml(await readFile(join(ROOT, 'pipelines', 'default.yaml'), 'utf8')) as {
    fetch: { request_concurrency: number }; parse: { tokenizer: 'fast'; batch_rows: number }; sink: Record<string, unknown>;
  };
  const requestConcurrency = flags['request-concurrency'] ? num('request-concurrency') : defaults.fetch.request_concurrency;
  const pipelineObject = {
    ...defaults, name: 'bench-e2e',
    fetch: { ...defaults.fetch, request_concurrency: requestConcurrency },
    sink: { ...defaults.sink, idle_flush_secs: idleFlushSecs },
  };
  const pipelineFile = join(work, 'pipeline.yaml');
  await writeFile(pipelineFile, stringifyYaml(pipelineObject));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    POLAR_CLIENT_ID: sim.clientId, POLAR_CLIENT_SECRET: sim.clientSecret,
    POLAR_API_BASE_URL: sim.apiBaseUrl, POLAR_AUTHORIZE_URL: sim.authorizeUrl, POLAR_TOKEN_URL: sim.tokenUrl, POLAR_REDIRECT_URI: sim.redirectUri,
    POLAR_LAKE_DIR: lakeDir, POLAR_LAKE_STATE_DIR: stateDir, POLAR_LAKE_LOG_LEVEL: 'warn',
    KAFKA_BROKERS: broker.brokers, POLAR_LAKE_TOPIC_PREFIX: `bench-${randomBytes(4).toString('hex')}.`,
  };
  delete env['POLAR_LAKE_METRICS_LISTEN'];

  sampler = setInterval(() => {
    for (const s of stages) {
      s.peakRssMb = Math.max(s.peakRssMb, s.child.pid ? (peakRssMb(s.child.pid) ?? 0) : 0);
      s.cpuSeconds = Math.max(s.cpuSeconds, s.child.pid ? (cpuSeconds(s.child.pid) ?? 0) : 0);
    }
  }, 200);
  // One after the other: two processes creating the same topics at once on a fresh broker can
  // fail with PL_BUS_UNAVAILABLE (seen here; reported, not this bench's subject).
  const parse = startStage('parse', ['--stage', 'parse', '--pipeline', pipelineFile], env, await freePort());
  stages.push(parse);
  await waitReady(parse, Date.now() + 120_000);
  const sink = startStage('sink', ['--stage', 'sink', '--pipeline', pipelineFile], env, await freePort());
  stages.push(sink);
  await waitReady(sink, Date.now() + 120_000);

  log(`fetch, parse and sink running`);
  const requestsBefore = sim.requestLog.length;
  t = performance.now();
  const cpuAtFetch = process.cpuUsage();
  const fetchStage = startStage('fetch', ['--once', '--stage', 'fetch', '--pipeline', pipelineFile], env, null);
  stages.push(fetchStage);
  const fetchExit = await exited(fetchStage.child);
  const fetchMs = performance.now() - t;
  if (fetchExit !== 0) throw new Error(`fetch exited ${fetchExit}: ${fetchStage.stderr.slice(-4000)}`);
  const fetchReport = JSON.parse(fetchStage.stdout) as { fetch: { exercisesFetched: number; payloadsStored: number; bytesStored: number } };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [a, b] = await Promise.all([lagOf(parse), lagOf(sink)]);
    if (a === 0 && b === 0) break;
    if (Date.now() > deadline) throw new Error(`not drained after --timeout-min (lag parse ${a}, sink ${b})`);
    for (const s of [parse, sink]) if (s.child.exitCode !== null) throw new Error(`${s.name} exited ${s.child.exitCode}: ${s.stderr.slice(-4000)}`);
    await sleep(250);
  }
  const drainMs = performance.now() - t;
  const simulatorCpu = process.cpuUsage(cpuAtFetch);
  log(`drained in ${seconds(drainMs)} s`);

  const [parseMetrics, sinkMetrics] = await Promise.all([metricsOf(parse), metricsOf(sink)]);
  for (const s of [parse, sink]) s.child.kill('SIGTERM');
  await Promise.all([parse, sink].map((s) => exited(s.child)));
  clearInterval(sampler);
  sampler = null;

  const api = sim.requestLog.slice(requestsBefore).filter((r) => r.path.startsWith('/v3/'));
  const overBudget = api.filter((r) => r.status === 429).length;
  const parsedSamples = metricSum(parseMetrics, 'polar_parse_rows_total', { table: 'samples' }) ?? 0;
  const sunkSamples = metricSum(sinkMetrics, 'polar_sink_rows_written_total', { table: 'samples' }) ?? 0;

  const db = await openLakeViews(lakeDir);
  const lake = (await db.conn.runAndReadAll('SELECT count(*)::BIGINT AS n, count(DISTINCT (user_id, exercise_id, time_utc))::BIGINT AS d FROM samples')).getRowObjectsJS()[0] as { n: bigint; d: bigint };
  db.close();

  log(`parsing the same raw objects with src/parse alone`);
  const alone = await parserAlone(lakeDir, { tokenizer: defaults.parse.tokenizer, batchRows: defaults.parse.batch_rows });
  const endToEndPerS = parsedSamples / (drainMs / 1000);
  const parserPerS = alone.samples / (alone.ms / 1000);
  const shortLimit = 500 + 20 * users;

  const report = {
    users, exercises_per_user: exercisesPerUser, exercise_minutes: minutes, daily_days: dailyDays,
    time_scale: timeScale, request_concurrency: requestConcurrency, sink_idle_flush_s: idleFlushSecs,
    budget: {
      short_window_s: seconds(SHORT_WINDOW_MS / timeScale), short_limit: shortLimit,
      long_window_s: seconds(LONG_WINDOW_MS / timeScale), long_limit: 5000 + 100 * users,
      fetch_requests: api.length, enrolment_requests: enrolRequests,
      requests_over_budget: overBudget,
      fetch_simulated_minutes: +((fetchMs / 1000) * timeScale / 60).toFixed(1),
    },
    enrol_s: seconds(enrolMs),
    fetch_s: seconds(fetchMs),
    drain_s: seconds(drainMs),
    exercises_fetched: fetchReport.fetch.exercisesFetched,
    payloads_stored: fetchReport.fetch.payloadsStored,
    raw_mb: +(fetchReport.fetch.bytesStored / 1e6).toFixed(1),
    samples: { parse_stage: parsedSamples, sink_stage: sunkSamples, lake: Number(lake.n), lake_distinct: Number(lake.d), parser_alone: alone.samples },
    end_to_end_samples_per_s: Math.round(endToEndPerS),
    parser_alone_samples_per_s: Math.round(parserPerS),
    parser_alone_s: seconds(alone.ms),
    end_to_end_vs_parser: +(endToEndPerS / parserPerS).toFixed(2),
    peak_rss_mb: Object.fromEntries(stages.map((s) => [s.name, Math.round(s.peakRssMb)])),
    // Stages: up to the last 200 ms sample before each process ended. Simulator: this process from the start of fetch to the drain.
    cpu_s: { ...Object.fromEntries(stages.map((s) => [s.name, +s.cpuSeconds.toFixed(1)])), simulator: +((simulatorCpu.user + simulatorCpu.system) / 1e6).toFixed(1) },
  };
  console.log(JSON.stringify(report, null, 2));
  console.log(`time to drain: ${report.drain_s} s (fetch sweep ${report.fetch_s} s) for ${users} users × ${exercisesPerUser} exercises of ${minutes} min`);
  console.log(`end to end ${report.end_to_end_samples_per_s} samples/s vs parser alone ${report.parser_alone_samples_per_s} samples/s: ${report.end_to_end_vs_parser} (goal ≥ 0.5: ${report.end_to_end_vs_parser >= 0.5 ? 'met' : 'NOT met'})`);
  console.log(`requests over budget: ${overBudget} of ${api.length} (goal 0: ${overBudget === 0 ? 'met' : 'NOT met'}), budget ${shortLimit} per ${report.budget.short_window_s} s (15 min / ${timeScale})`);
  console.log(`peak RSS: ${stages.map((s) => `${s.name} ${Math.round(s.peakRssMb)} MB`).join(', ')}`);
  console.log(`CPU seconds: ${Object.entries(report.cpu_s).map(([name, s]) => `${name} ${s}`).join(', ')}`);
  if (alone.samples !== parsedSamples || Number(lake.n) !== Number(lake.d)) console.log(`WARNING: sample counts disagree (see "samples" above)`);
} finally {
  if (sampler) clearInterval(sampler);
  for (const s of stages) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await sim?.close().catch(() => undefined);
  await broker?.stop().catch((error: Error) => log(`stopping the broker failed: ${error.message}`));
  await rm(work, { recursive: true, force: true });
}

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { Subscription } from '../../src/bus/bus.ts';
import { TABLE_NAMES } from '../../src/lake/schema.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { serveAppTelemetry } from '../../src/telemetry/app-telemetry.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { createMetricsRegistry } from '../../src/telemetry/metrics.ts';
import { lakeSizes } from '../../src/telemetry/status.ts';
import { startSimulatedApp, type SimulatedApp } from '../helpers/simulator-app.ts';

/** The value of one sample line (`name{labels} value`), NaN when absent. */
const valueIn = (text: string) => (line: string) => Number(new RegExp(`^${line.replace(/[{}"().*+?[\]\\]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1]);

describe('telemetry > metrics', () => {
  let t: SimulatedApp;
  let sim: Simulator;
  let app: App;

  beforeAll(async () => {
    t = await startSimulatedApp({ seed: 9, users: 2, exercisesPerUser: 2, durationRangeS: [300, 600] });
    ({ sim, app } = t);
  });

  afterAll(async () => t?.close());

  it('serves process metrics, per-stage counters and histograms, lag per partition, budget and users over HTTP; /health and /ready', async () => {
    const report = await app.runOnce();
    let started = true;
    const server = await serveAppTelemetry(app, { host: '127.0.0.1', port: 0, stages: ['fetch', 'parse', 'sink'], logger: silentLogger, started: () => started, sampleEveryMs: 0 });
    try {
      const response = await fetch(`${server.url}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      const value = valueIn(text);
      // prom-client's default process metrics
      expect(value('process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
      expect(value('process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      // fetch
      expect(value('polar_fetch_runs_total')).toBe(1);
      expect(value('polar_fetch_payloads_stored_total')).toBe(report.payloadsStored);
      expect(value('polar_fetch_transactions_committed_total')).toBe(report.transactionsCommitted);
      expect(value('polar_fetch_last_run_end_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
      // request latency by endpoint (ids replaced) and status: one observation per request the simulator saw
      const counts = [...text.matchAll(/^polar_accesslink_request_duration_seconds_count\{endpoint="([^"]+)",method="(\w+)",status="(\d+)"\} (\d+)$/gm)];
      expect(counts.length).toBeGreaterThan(2);
      for (const [, endpoint] of counts) expect(endpoint).not.toMatch(/\/\d+(\/|$)/);
      expect(counts.reduce((n, m) => n + Number(m[4]), 0)).toBe(sim.requestLog.filter((r) => r.path.startsWith('/v3/')).length);
      // parse and sink: every trackpoint parsed and written once; bytes written are the table's files
      const trackpoints = sim.committedExercises().reduce((s, e) => s + e.trackpoints, 0);
      expect(value('polar_parse_rows_total{table="samples"}')).toBe(trackpoints);
      expect(value('polar_sink_rows_written_total{table="samples"}')).toBe(trackpoints);
      const samplesSize = lakeSizes(app.lakeDir, TABLE_NAMES).lake.find((s) => s.table === 'samples')!;
      expect(value('polar_sink_bytes_written_total{table="samples"}')).toBe(samplesSize.bytes);
      expect(value('polar_sink_commit_duration_seconds_count{table="samples"}')).toBe(samplesSize.files);
      expect(value('polar_bus_messages_published_total{topic="polar.fetched"}')).toBe(report.eventsPublished);
      // lag per stage, topic and partition: all caught up
      const lagLines = [...text.matchAll(/^polar_consumer_lag_messages\{stage="(\w+)",topic="([\w.]+)",partition="(\d+)"\} (\S+)$/gm)];
      expect(new Set(lagLines.map((m) => m[1]))).toEqual(new Set(['parse', 'sink']));
      expect(lagLines.some((m) => m[1] === 'parse' && m[2] === 'polar.fetched')).toBe(true);
      expect(lagLines.every((m) => m[4] === '0')).toBe(true);
      // the simulator's rate-limit headers: budget used per window
      expect(value('polar_accesslink_budget_used_requests{window="short_term"}')).toBeGreaterThan(0);
      expect(value('polar_accesslink_budget_limit_requests{window="short_term"}')).toBe(500 + 20 * 2);
      expect(value('polar_accesslink_budget_limit_requests{window="long_term"}')).toBe(5000 + 100 * 2);
      // users, and nothing left unfetched
      expect(value('polar_users{status="active"}')).toBe(2);
      for (const a of sim.accounts) expect(value(`polar_user_unfetched_age_seconds{user_id="${a.polarUserId}"}`)).toBe(0);

      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      started = false;
      expect((await fetch(`${server.url}/ready`)).status).toBe(503);
      expect((await fetch(`${server.url}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('counts a failed lag read apart and shows no lag for that stage rather than 0', async () => {
    const failing = app.consumers().map((c) =>
      c.stage === 'sink' ? { stage: c.stage, subscription: { ...c.subscription, lagByPartition: () => Promise.reject(new Error('broker unreachable')) } as Subscription } : c,
    );
    const registry = createMetricsRegistry({ ...app, consumers: () => failing });
    const text = await registry.metrics();
    const value = valueIn(text);
    expect(text).not.toMatch(/^polar_consumer_lag_messages\{stage="sink"/m);
    expect(text).toMatch(/^polar_consumer_lag_messages\{stage="parse"/m);
    expect(value('polar_consumer_lag_read_errors_total{stage="sink"}')).toBe(1);
  });

  it('documents every metric it serves in docs/operating.md', async () => {
    const text = await createMetricsRegistry(app).metrics();
    const served = new Set([...text.matchAll(/^# TYPE (polar_\w+) /gm)].map((m) => m[1]!));
    const documented = new Set([...readFileSync('docs/operating.md', 'utf8').matchAll(/`(polar_\w+)`/g)].map((m) => m[1]!));
    expect(served.size).toBeGreaterThan(20);
    expect([...served].filter((n) => !documented.has(n))).toEqual([]);
    expect([...documented].filter((n) => !served.has(n))).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { collectAppMetrics, renderPrometheus, startMetricsServer } from '../../src/telemetry/metrics.ts';
import { startSimulatedApp, type SimulatedApp } from '../helpers/simulator-app.ts';

describe('telemetry > metrics', () => {
  let t: SimulatedApp;
  let sim: Simulator;
  let app: App;

  beforeAll(async () => {
    t = await startSimulatedApp({ seed: 9, users: 2, exercisesPerUser: 2, durationRangeS: [300, 600] });
    ({ sim, app } = t);
  });

  afterAll(async () => t?.close());

  it('renders the Prometheus text format with escaped labels', () => {
    const text = renderPrometheus([{ name: 'x_total', help: 'h', type: 'counter', samples: [{ labels: { a: 'q"\\' }, value: 2 }, { value: Number.NaN }] }]);
    expect(text).toBe('# HELP x_total h\n# TYPE x_total counter\nx_total{a="q\\"\\\\"} 2\nx_total 0\n');
  });

  it('reports what a sweep did, per-stage lag, and users per status, over HTTP', async () => {
    const report = await app.runOnce();
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, collect: () => collectAppMetrics(app), logger: silentLogger });
    try {
      const text = await (await fetch(server.url)).text();
      const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(value('polar_fetch_runs_total')).toBe(1);
      expect(value('polar_fetch_payloads_stored_total')).toBe(report.payloadsStored);
      expect(value('polar_fetch_transactions_committed_total')).toBe(report.transactionsCommitted);
      expect(value('polar_parse_rows_total{table="samples"}')).toBe(sim.committedExercises().reduce((s, e) => s + e.trackpoints, 0));
      expect(value('polar_consumer_lag_messages{stage="parse"}')).toBe(0);
      expect(value('polar_consumer_lag_messages{stage="sink"}')).toBe(0);
      expect(value('polar_users{status="active"}')).toBe(2);
      expect(value('polar_fetch_last_run_end_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

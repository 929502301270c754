/**
 * Prometheus metrics through prom-client: the process's default metrics (CPU, memory, heap,
 * event-loop delay, handles), what the observer counts as it happens (request latency, rows
 * and bytes written, dead letters, messages published), and what is read at scrape time from
 * the stages and the state (fetch totals, parse counters, consumer lag per topic and
 * partition, users per status, the rate-limit budget, the age of what is not fetched yet).
 * docs/operating.md lists every name; test/integration/metrics.test.ts keeps that list honest.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { App } from '../app.ts';
import type { PartitionLag } from '../bus/bus.ts';
import { unfetchedAgeSeconds } from './status.ts';

/** Mirrors a total kept elsewhere into a counter at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Counter({
    name, help, registers: [registry],
    collect() {
      const value = read();
      this.reset();
      if (value !== undefined) this.inc(value);
    },
  });
}

export function createMetricsRegistry(app: App): Registry {
  const own = new Registry();
  collectDefaultMetrics({ register: own });
  const totals = () => app.fetch?.totals();
  const fetchCounters: [string, string, (t: NonNullable<ReturnType<typeof totals>>) => number][] = [
    ['polar_fetch_runs_total', 'Fetch sweeps completed.', (t) => t.runs],
    ['polar_fetch_exercises_fetched_total', 'Exercises fetched (every payload stored or known absent).', (t) => t.exercisesFetched],
    ['polar_fetch_payloads_stored_total', 'Payloads written to the raw zone.', (t) => t.payloadsStored],
    ['polar_fetch_payload_bytes_total', 'Uncompressed bytes written to the raw zone.', (t) => t.bytesStored],
    ['polar_fetch_events_published_total', 'Events published to polar.fetched.', (t) => t.eventsPublished],
    ['polar_fetch_transactions_committed_total', 'AccessLink transactions committed (data then deleted at Polar).', (t) => t.transactionsCommitted],
    ['polar_fetch_transactions_left_open_total', 'Transactions left uncommitted because something failed (offered again later).', (t) => t.transactionsLeftOpen],
    ['polar_fetch_days_stored_total', 'Daily payloads (activity days, sleep nights) stored because new or changed.', (t) => t.daysStored],
    ['polar_fetch_daily_users_deferred_total', 'Users whose date-based sweep the rate-limit budget could not cover in a run (swept in a later one).', (t) => t.dailyUsersDeferred],
  ];
  if (app.fetch) {
    for (const [name, help, pick] of fetchCounters) mirroredCounter(own, name, help, () => { const t = totals(); return t ? pick(t) : undefined; });
    new Gauge({
      name: 'polar_fetch_last_run_end_timestamp_seconds',
      help: 'When the last fetch sweep ended (0: none yet). Alert when it gets old: AccessLink keeps data 28 days.',
      registers: [own],
      collect() { this.set((totals()?.lastRunEndedAtMs ?? 0) / 1000); },
    });
    new Counter({
      name: 'polar_fetch_errors_total', help: 'Fetch errors by code (docs/errors*.md).', labelNames: ['code'], registers: [own],
      collect() {
        this.reset();
        for (const [code, n] of Object.entries(totals()?.errorsByCode ?? {})) this.inc({ code }, n);
      },
    });
  }
  mirroredCounter(own, 'polar_parse_sources_total', 'Raw objects parsed.', () => app.parse.counters.sources);
  new Counter({
    name: 'polar_parse_rows_total', help: 'Rows the parse stage published, per table.', labelNames: ['table'], registers: [own],
    collect() {
      this.reset();
      for (const [table, n] of Object.entries(app.parse.counters.rows)) this.inc({ table }, n);
    },
  });
  mirroredCounter(own, 'polar_parse_deadletters_total', 'Inputs the parse stage sent to polar.deadletter.', () => app.parse.counters.deadLettered);

  // One read of every stage's lag per scrape, shared by the gauge and the error counter
  // (prom-client collects a registry's metrics concurrently).
  type LagRead = { stage: string; lags: PartitionLag[] | null };
  let reading: Promise<LagRead[]> | null = null;
  const readLags = (): Promise<LagRead[]> => {
    reading ??= Promise.all(app.consumers().map(async ({ stage, subscription }) => ({ stage, lags: await subscription.lagByPartition().catch(() => null) })))
      .finally(() => setImmediate(() => (reading = null)));
    return reading;
  };
  new Counter({
    name: 'polar_consumer_lag_read_errors_total',
    help: 'Failed reads of a stage\'s consumer lag (its lag series is then absent, never 0).',
    labelNames: ['stage'],
    registers: [own],
    async collect() {
      for (const { stage, lags } of await readLags()) if (lags === null) this.inc({ stage });
    },
  });
  new Gauge({
    name: 'polar_consumer_lag_messages',
    help: 'Messages published and not yet acknowledged, per consuming stage, topic and partition.',
    labelNames: ['stage', 'topic', 'partition'],
    registers: [own],
    async collect() {
      const reads = await readLags();
      this.reset();
      for (const { stage, lags } of reads) for (const p of lags ?? []) this.set({ stage, topic: p.topic, partition: String(p.partition) }, p.lag);
    },
  });
  new Gauge({
    name: 'polar_users', help: 'Registered users per status (needs_reauth / needs_consent need an operator).', labelNames: ['status'], registers: [own],
    collect() {
      this.reset();
      for (const u of app.users.list()) this.inc({ status: u.status });
    },
  });
  new Gauge({
    name: 'polar_user_unfetched_age_seconds',
    help: 'Per user: how long what Polar holds has gone unfetched (failing sweeps, or the user needs an operator); 0 when the last sweeps succeeded. Polar deletes after 28 days: alert from 14.',
    labelNames: ['user_id'],
    registers: [own],
    collect() {
      this.reset();
      for (const u of app.users.list()) {
        const age = unfetchedAgeSeconds(u, app.observer.sweeps().get(u.polarUserId), app.observer.now());
        if (age !== null) this.set({ user_id: u.polarUserId }, age);
      }
    },
  });
  const budget = (pick: 'used' | 'limit') =>
    new Gauge({
      name: `polar_accesslink_budget_${pick === 'used' ? 'used' : 'limit'}_requests`,
      help: pick === 'used' ? 'Requests counted against each AccessLink rate-limit window (short_term 15 min, long_term 24 h), from the last response.' : 'Requests each AccessLink rate-limit window allows.',
      labelNames: ['window'],
      registers: [own],
      collect() {
        this.reset();
        const last = app.rateLimitGate?.last;
        if (!last) return;
        this.set({ window: 'short_term' }, last.shortTerm[pick]);
        if (last.longTerm) this.set({ window: 'long_term' }, last.longTerm[pick]);
      },
    });
  budget('used');
  budget('limit');
  return Registry.merge([own, app.observer.registry]);
}

/**
 * Metrics in the Prometheus text format, collected at scrape time from what the stages
 * already count (no second bookkeeping): fetch totals, parse counters, consumer lag per
 * stage, users per status. `polar-lake run` serves them on POLAR_LAKE_METRICS_LISTEN.
 * Names follow `polar_<stage>_<name>_<unit>_total` for counters.
 */
import { createServer } from 'node:http';
import type { App } from '../app.ts';
import type { Logger } from './log.ts';
import { listen } from '../net/listen.ts';

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly samples: readonly { readonly labels?: Readonly<Record<string, string>>; readonly value: number }[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = s.labels && Object.keys(s.labels).length > 0
        ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`
        : '';
      lines.push(`${f.name}${labels} ${Number.isFinite(s.value) ? s.value : 0}`);
    }
  }
  return lines.join('\n') + '\n';
}

const one = (name: string, help: string, type: MetricFamily['type'], value: number): MetricFamily => ({ name, help, type, samples: [{ value }] });

export async function collectAppMetrics(app: App): Promise<MetricFamily[]> {
  const families: MetricFamily[] = [];
  if (app.fetch) {
    const t = app.fetch.totals();
    families.push(
      one('polar_fetch_runs_total', 'Fetch sweeps completed.', 'counter', t.runs),
      one('polar_fetch_last_run_end_timestamp_seconds', 'When the last fetch sweep ended (0: none yet). Alert when it gets old: AccessLink keeps data 28-30 days.', 'gauge', t.lastRunEndedAtMs / 1000),
      one('polar_fetch_payloads_stored_total', 'Payloads written to the raw zone.', 'counter', t.payloadsStored),
      one('polar_fetch_payload_bytes_total', 'Uncompressed bytes written to the raw zone.', 'counter', t.bytesStored),
      one('polar_fetch_events_published_total', 'Events published to polar.fetched.', 'counter', t.eventsPublished),
      one('polar_fetch_transactions_committed_total', 'AccessLink transactions committed (data then deleted at Polar).', 'counter', t.transactionsCommitted),
      one('polar_fetch_transactions_left_open_total', 'Transactions left uncommitted because something failed (offered again later).', 'counter', t.transactionsLeftOpen),
      one('polar_fetch_days_stored_total', 'Daily payloads (activity days, sleep nights) stored because new or changed.', 'counter', t.daysStored),
      {
        name: 'polar_fetch_errors_total',
        help: 'Fetch errors by code (docs/errors*.md).',
        type: 'counter',
        samples: Object.entries(t.errorsByCode).map(([code, value]) => ({ labels: { code }, value })),
      },
    );
  }
  const p = app.parse.counters;
  families.push(
    one('polar_parse_sources_total', 'Raw objects parsed.', 'counter', p.sources),
    { name: 'polar_parse_rows_total', help: 'Rows published per table.', type: 'counter', samples: Object.entries(p.rows).map(([table, value]) => ({ labels: { table }, value })) },
    one('polar_parse_deadletters_total', 'Inputs sent to polar.deadletter.', 'counter', p.deadLettered),
  );
  const lags = await Promise.all(app.consumers().map(async (c) => ({ labels: { stage: c.stage }, value: await c.subscription.lag().catch(() => Number.NaN) })));
  families.push({ name: 'polar_consumer_lag_messages', help: 'Messages published and not yet acknowledged, per consuming stage.', type: 'gauge', samples: lags });
  const statuses = new Map<string, number>();
  for (const u of app.users.list()) statuses.set(u.status, (statuses.get(u.status) ?? 0) + 1);
  families.push({ name: 'polar_users', help: 'Registered users per status (needs_reauth / needs_consent need an operator).', type: 'gauge', samples: [...statuses].map(([status, value]) => ({ labels: { status }, value })) });
  return families;
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: { host: string; port: number; collect: () => Promise<readonly MetricFamily[]>; logger: Logger }): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://x').pathname !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    options
      .collect()
      .then((families) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderPrometheus(families)))
      .catch((error: unknown) => {
        options.logger.error('metrics.collect.failed', { error });
        res.writeHead(500).end();
      });
  });
  const address = await listen(server, options.port, options.host, 'the metrics server');
  return {
    url: `http://${address.address}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
